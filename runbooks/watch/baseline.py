"""Seed 001's latency baseline for backends without a load API: an EMA with a spike guard.

The first samples (fewer than 5) keep the maximum seen, so one fast answer at start-up does not
set a baseline every later answer looks slow against; after that the EMA is 0.9 old + 0.1 new;
the baseline never drops under 10 ms (below that a ratio means nothing). Load level from the
ratio of the latest latency to the baseline: busy above 5x, normal above 2x, else idle.
"""

from __future__ import annotations

from pydantic import BaseModel

__all__ = ["FLOOR_MS", "GUARD_SAMPLES", "Baseline", "level", "update"]

GUARD_SAMPLES = 5
FLOOR_MS = 10.0
KEEP, TAKE = 0.9, 0.1


class Baseline(BaseModel):
    ms: float = FLOOR_MS
    samples: int = 0
    last_ms: float | None = None


def update(b: Baseline, latency_ms: float) -> Baseline:
    """The baseline after one healthy sample (seed 001 `_update_baseline`)."""
    samples = b.samples + 1
    current = b.ms if b.samples else latency_ms
    new = max(current, latency_ms) if samples < GUARD_SAMPLES else current * KEEP + latency_ms * TAKE
    return Baseline(ms=max(new, FLOOR_MS), samples=samples, last_ms=latency_ms)


def level(b: Baseline, latency_ms: float) -> str:
    """`busy` above 5x the baseline, `normal` above 2x, else `idle` (seed 001's hybrid fallback)."""
    if latency_ms > b.ms * 5:
        return "busy"
    if latency_ms > b.ms * 2:
        return "normal"
    return "idle"
