"""Decide whether a llama-server service needs fewer GPU layers, and how to apply the change.

Two signals, as the runbook's brief names them: the service exited, is restarting or was
OOM-killed and its log shows a CUDA OOM; or GPU memory is above the GPUMemoryHigh threshold.
The container state comes from `docker inspect` (the framework's Docker target fills
`ContainerState`), the log text from `docker logs`, the memory from nvidia-smi or DCGM.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from runbooks.gpu.memory import GpuMemory, memory_high
from runbooks.gpu.oomlog import LogEvidence, has_cuda_oom, scan_log

# Docker's State.Status values (docker inspect / Engine API ContainerState).
STATUSES = ("created", "running", "paused", "restarting", "removing", "exited", "dead")
DOWN = ("exited", "dead", "restarting")


@dataclass(frozen=True)
class ContainerState:
    """What the detector needs from `docker inspect`: State.{Status,ExitCode,OOMKilled,Health}
    and the container's top-level RestartCount."""

    status: str
    exit_code: int = 0
    oom_killed: bool = False
    restart_count: int = 0
    health: str | None = None

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"container status {self.status!r} is not one of {', '.join(STATUSES)}")
        if self.restart_count < 0:
            raise ValueError(f"restart_count {self.restart_count} is negative")

    @classmethod
    def from_inspect(cls, attrs: Mapping[str, Any]) -> ContainerState:
        """From one element of `docker inspect` output (or docker SDK `container.attrs`)."""
        state = attrs.get("State") or {}
        health = (state.get("Health") or {}).get("Status")
        return cls(
            status=state.get("Status", ""),
            exit_code=int(state.get("ExitCode") or 0),
            oom_killed=bool(state.get("OOMKilled")),
            restart_count=int(attrs.get("RestartCount") or 0),
            health=health,
        )

    @property
    def serving(self) -> bool:
        """Running and not reported unhealthy: traffic can still reach it (reload is possible)."""
        return self.status == "running" and self.health != "unhealthy"

    @property
    def failed(self) -> bool:
        """Exited, dead, restarting, OOM-killed, or restarted at least once."""
        return self.status in DOWN or self.oom_killed or self.restart_count > 0


@dataclass(frozen=True)
class Detection:
    """The detector's verdict and everything it was based on (for the run record)."""

    service: str
    state: ContainerState
    cuda_oom: bool
    host_oom: bool
    high_memory: tuple[GpuMemory, ...]
    evidence: tuple[LogEvidence, ...] = field(default=())
    load_failures: tuple[str, ...] = field(default=())
    reasons: tuple[str, ...] = field(default=())

    @property
    def needs_fewer_layers(self) -> bool:
        return self.cuda_oom or bool(self.high_memory)

    @property
    def apply_by(self) -> Literal["reload", "recreate"]:
        """Reload (§1, side by side) while it still serves; a plain recreate when it is down."""
        return "reload" if self.state.serving else "recreate"

    @property
    def requested_mib(self) -> float | None:
        """The largest allocation the log says failed, if it says."""
        sizes = [e.requested_mib for e in self.evidence if e.requested_mib is not None]
        return max(sizes) if sizes else None


def detect(
    service: str,
    state: ContainerState,
    logs: str,
    memory: list[GpuMemory] | None = None,
    threshold: float = 0.9,
) -> Detection:
    """Whether `service` hit a CUDA OOM or sits on a GPU above `threshold`, and why."""
    evidence, failures = scan_log(logs)
    cuda = has_cuda_oom(evidence)
    cuda_oom = state.failed and cuda
    # Docker's OOMKilled is the kernel's cgroup killer: host RAM, not VRAM. Fewer GPU layers
    # would move weights into host RAM and make that worse, so it is reported, not "fixed".
    host_oom = state.oom_killed and not cuda
    high = tuple(memory_high(memory or [], threshold))
    reasons = []
    if cuda_oom:
        reasons.append(f"{service} is {state.status} (restarts {state.restart_count}) with a CUDA OOM in its log")
    elif cuda:
        reasons.append(f"{service} logged a CUDA OOM but is {state.status} without restarts: not treated as a crash")
    if host_oom:
        reasons.append(f"{service} was OOM-killed by the kernel with no CUDA OOM logged: host memory, not VRAM")
    for gpu in high:
        reasons.append(f"GPU {gpu.gpu} memory {gpu.ratio:.0%} used, above GPUMemoryHigh {threshold:.0%}")
    if state.failed and not cuda and not host_oom and failures:
        reasons.append(f"{service} failed to load its model without an out-of-memory line: not a GPU-layer problem")
    return Detection(
        service=service,
        state=state,
        cuda_oom=cuda_oom,
        host_oom=host_oom,
        high_memory=high,
        evidence=tuple(evidence),
        load_failures=tuple(failures),
        reasons=tuple(reasons),
    )
