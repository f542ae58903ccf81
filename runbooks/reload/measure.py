"""Run an action under open-loop load through the gateway and say what the clients saw.

Used by the live tests and bench/reload.py: requests before / during / after the action, failed
requests, requests served by anything but the group's primary (the failover secondary), p99
latency by phase, and the seconds during which the primary did not answer.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from infra.spec.model import Platform
from runbooks.load import LoadGenerator, Sample, summarize
from runbooks.probes import completion_payload, gateway_headers, gateway_url, served_by


def seconds_without(samples: list[Sample], primary: str) -> float:
    """From the first request the primary did not answer to the end of the last one (0 if none)."""
    missed = [s for s in samples if not s.ok or s.backend != primary]
    if not missed:
        return 0.0
    return round(max(s.sent_s + s.latency_s for s in missed) - min(s.sent_s for s in missed), 3)


def under_load(
    platform: Platform,
    action: Callable[[], Any],
    *,
    group: str = "chat",
    rate: float = 10.0,
    before_s: float = 10.0,
    after_s: float = 10.0,
    min_total_s: float = 30.0,
) -> dict[str, Any]:
    primary = platform.gateway.routes[group][0]
    gen = LoadGenerator(
        gateway_url(platform),
        completion_payload(group, 8),
        rate,
        served_by(platform),
        gateway_headers(platform.stack),
        timeout_s=platform.tuning.LLM_REQUEST_TIMEOUT,
    )
    gen.start()
    try:
        time.sleep(before_s)
        t0 = gen.now()
        result = action()
        t1 = gen.now()
        while gen.now() < max(t1 + after_s, min_total_s):
            time.sleep(0.1)
    finally:
        gen.stop()
    samples = sorted(gen.snapshot(), key=lambda s: s.sent_s)
    phases = {
        "before": [s for s in samples if s.sent_s < t0],
        "during": [s for s in samples if t0 <= s.sent_s < t1],
        "after": [s for s in samples if s.sent_s >= t1],
    }
    return {
        "result": result,
        "primary": primary,
        "rate": rate,
        "load_s": round(samples[-1].sent_s if samples else 0.0, 3),
        "action_s": round(t1 - t0, 3),
        "failed": sum(not s.ok for s in samples),
        "not_primary": sum(1 for s in samples if s.ok and s.backend != primary),
        "seconds_without_primary": seconds_without(samples, primary),
        "errors": sorted({s.error or str(s.status) for s in samples if not s.ok})[:5],
        **{name: summarize(group_) for name, group_ in phases.items()},
        "total": summarize(samples),
    }
