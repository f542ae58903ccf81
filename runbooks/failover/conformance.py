"""Whether the gateway cooled the faulted primary down, from a failover drill's own figures.

An answer with `x-litellm-attempted-fallbacks` >= 1 tried a deployment first that failed. With
cooldown working, the faulted primary is tried once after the fault and once per cooldown expiry
while it stays faulted (one or two requests more may be in flight at that moment); a gateway that
skips cooldown (BerriAI/litellm#27362) or picks the failed primary again (#18444, #38968) makes
nearly every request in the window pay a failed attempt first.
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
    return 2 + math.floor((back_at - fault_at) / cooldown_s)


def primary_cooled_down(measurements: dict[str, Any], cooldown_s: float) -> bool | None:
    """True when no more answers fell back than the allowance; None when it cannot be told (no
    window, or the gateway's answers did not say how many fallbacks they took)."""
    allowed = fallback_allowance(measurements, cooldown_s)
    answered = [s for s in measurements.get("samples", []) if s.get("ok")]
    if allowed is None or not answered or any(s.get("fallbacks") is None for s in answered):
        return None
    return int(measurements["failover"]["during"]["fell_back"]) <= allowed
