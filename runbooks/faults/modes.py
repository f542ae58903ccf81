"""The failure modes the fault proxy plays, each as a real llama-server or gateway peer shows it.

Names follow Failover Bench's catalogue where it has one (../shared/notes/field-notes.md).
`Fault` holds a mode and its knobs; it travels to the proxy process as command-line options.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MODES", "PARTIAL_MODES", "PROXY_MODES", "Fault"]

PROXY_MODES: dict[str, str] = {
    "reset": "the connection is reset once the request is read, before any byte of an answer",
    "stall": "the request is read and the connection stays open with nothing sent back",
    "slow-first-token": "the answer is held back --delay seconds before its first byte",
    "stream-cut": "a streamed answer is cut (FIN) after --cut-after bytes of its body; plain ones are served",
    "loading": "503 'Loading model' on every path, /health and /v1/models too, as llama-server answers while it loads",
    "flap": "--period seconds of resets, then --period seconds served, over and over",
    "rate-limit": "429 with Retry-After: --retry-after (no header when 0)",
}
# kill, stop and pause act on the container (runbooks/targets); the others through the proxy
MODES: tuple[str, ...] = ("kill", "stop", "pause", *PROXY_MODES)
# Faults that spare some requests (stream-cut: plain answers are served): the primary keeps a
# share of the traffic, so the drill observes instead of waiting for the secondary to carry it all.
PARTIAL_MODES = frozenset({"stream-cut"})


@dataclass(frozen=True)
class Fault:
    mode: str
    delay_s: float = 10.0  # slow-first-token: above the gateway's stream timeout
    # stream-cut: body bytes let through. A llama-server event is ~230 bytes: 1500 is about 5 tokens
    # into an 8-token answer, past the first chunk (a cut before it, LiteLLM still falls back).
    cut_after: int = 1500
    period_s: float = 5.0  # flap
    retry_after_s: int = 2  # rate-limit; 0: no Retry-After header

    def __post_init__(self) -> None:
        if self.mode not in PROXY_MODES:
            raise ValueError(f"not a proxy mode: {self.mode!r}")

    def argv(self) -> list[str]:
        return [
            "--mode", self.mode,
            "--delay", f"{self.delay_s:g}",
            "--cut-after", str(self.cut_after),
            "--period", f"{self.period_s:g}",
            "--retry-after", str(self.retry_after_s),
        ]  # fmt: skip
