"""Whether the gateway cooled the faulted primary down, from a failover drill's own figures.

An answer with `x-litellm-attempted-fallbacks` >= 1 tried a deployment first that failed. With
cooldown working, requests go to the primary only until the gateway has seen it fail (the first
fell-back answer: at once for a refused or reset connection, after one attempt's timeout for a
hung backend, when every request sent meanwhile is already on its way to the primary), and then
once per cooldown expiry while it stays faulted, plus one in flight. A gateway that skips
cooldown (BerriAI/litellm#27362) or picks the failed primary again (#18444, #38968) makes every
request of the window pay a failed attempt first.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["fallback_allowance", "primary_cooled_down"]


def fallback_allowance(measurements: dict[str, Any], cooldown_s: float) -> int | None:
    """Answers that may fall back between the fault and traffic back on the primary; None when
    the drill did not get that far."""
    fault_at, back_at = measurements.get("fault_at_s"), measurements.get("back_at_s")
    if fault_at is None or back_at is None:
        return None
    window = [s for s in measurements.get("samples", []) if fault_at <= s["sent_s"] < back_at]
    fell = [s["sent_s"] + s["latency_s"] for s in window if (s.get("fallbacks") or 0) > 0]
    seen_at = min(fell) if fell else fault_at  # when the gateway had seen the primary fail
    before_seen = sum(1 for s in window if s["sent_s"] < seen_at)
    return before_seen + 1 + math.floor((back_at - seen_at) / cooldown_s)


def primary_cooled_down(measurements: dict[str, Any], cooldown_s: float) -> bool | None:
    """True when no more answers fell back than the allowance; None when it cannot be told (no
    window, or the gateway's answers did not say how many fallbacks they took)."""
    allowed = fallback_allowance(measurements, cooldown_s)
    answered = [s for s in measurements.get("samples", []) if s.get("ok")]
    if allowed is None or not answered or any(s.get("fallbacks") is None for s in answered):
        return None
    return int(measurements["failover"]["during"]["fell_back"]) <= allowed
