"""The load generator against a real HTTP double of the gateway's completion endpoint."""

from __future__ import annotations

from typing import Any

from infra.spec import Platform
from runbooks.failover import runbook as failover
from runbooks.load import LoadGenerator, Sample, percentile, summarize
from runbooks.probes import served_by
from tests.support.waiting import wait_until
from tests.unit.runbooks.fakes import FakeServer, serving


def _served(gen: LoadGenerator, backend: str) -> bool:
    return any(s.backend == backend for s in gen.snapshot())


def test_percentile_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0 and percentile(values, 99) == 99.0 and percentile([], 50) is None


def test_summarize_counts_failures_and_backends() -> None:
    samples = [Sample(0, 0.1, True, 200, "a"), Sample(1, 0.3, True, 200, "b"), Sample(2, 5.0, False, 502, None)]
    s = summarize(samples)
    assert (s["requests"], s["failed"], s["p50_ms"]) == (3, 1, 100.0)
    assert s["by_backend"] == {"None": 1, "a": 1, "b": 1} and s["fell_back"] == 0


def test_generator_keeps_its_rate_and_identifies_the_backend(platform: Platform) -> None:
    serving_backend = {"id": "chat-inference-chat"}

    def completion(_h: dict[str, str]) -> tuple[int, Any]:
        return 200, {
            "choices": [{"message": {"content": "ok"}}],
            "_headers": {"x-litellm-model-id": serving_backend["id"]},
        }

    with serving({"gw": FakeServer({"POST /v1/chat/completions": completion})}) as fakes:
        url = f"http://127.0.0.1:{fakes['gw'].port}/v1/chat/completions"
        gen = LoadGenerator(url, {"model": "chat"}, rate=40, backend_of=served_by(platform))
        gen.start()
        wait_until(lambda: _served(gen, "inference-chat"), 10, "an answer from inference-chat")
        switch_at = gen.now()
        serving_backend["id"] = "chat-inference-code"
        # The rate is measured over the first second of sending: that is the window, not a wait.
        wait_until(lambda: gen.now() >= 1.0 and _served(gen, "inference-code"), 10, "1 s and inference-code")
        gen.stop()
    samples = gen.snapshot()
    assert 30 <= len(samples) <= 50, len(samples)  # 40 req/s for 1 s
    assert all(s.ok for s in samples)
    assert {s.backend for s in samples} == {"inference-chat", "inference-code"}
    at = failover.carried_by(gen, "inference-code", switch_at)
    assert at is not None and at >= switch_at


def test_answers_the_gateway_had_to_fall_back_for_are_counted(platform: Platform) -> None:
    """`x-litellm-attempted-fallbacks` >= 1: the deployment tried first failed (not cooled down)."""
    sent = {"n": 0}

    def completion(_h: dict[str, str]) -> tuple[int, Any]:
        sent["n"] += 1
        fell = "1" if sent["n"] % 2 else "0"
        headers = {"x-litellm-model-id": "chat-inference-code", "x-litellm-attempted-fallbacks": fell}
        return 200, {"choices": [{"message": {"content": "ok"}}], "_headers": headers}

    with serving({"gw": FakeServer({"POST /v1/chat/completions": completion})}) as fakes:
        url = f"http://127.0.0.1:{fakes['gw'].port}/v1/chat/completions"
        gen = LoadGenerator(url, {"model": "chat"}, rate=40, backend_of=served_by(platform))
        gen.start()
        wait_until(lambda: len(gen.snapshot()) >= 6, 10, "six answers")
        gen.stop()
    samples = gen.snapshot()
    assert {s.fallbacks for s in samples} == {0, 1}
    assert summarize(samples)["fell_back"] == sum(1 for s in samples if s.fallbacks == 1) >= 3


def test_connection_failures_are_recorded_not_raised(platform: Platform) -> None:
    gen = LoadGenerator("http://127.0.0.1:9/v1/chat/completions", {}, rate=20, backend_of=lambda r: None, timeout_s=1)
    gen.start()
    wait_until(lambda: len(gen.snapshot()) >= 3, 10, "three failed requests recorded")
    gen.stop()
    samples = gen.snapshot()
    assert samples and not any(s.ok for s in samples)
    assert all(s.error and "ConnectError" in s.error for s in samples)
