"""The review window: seven days by default, minutes in a live test on a fresh stack.

Prometheus may hold less than the window (a stack started yesterday, a shorter retention); each
figure says how much of the window its samples cover, so "99.95 % over 2 h of a 7 d window" is
never read as a week's result.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from infra.spec.weekly_check import window_seconds

__all__ = ["PLOT_POINTS", "Window", "duration", "human"]

PLOT_POINTS = 120  # points per plotted series: enough for a trend, small enough for a report


def duration(seconds: float) -> str:
    """A PromQL duration for a whole number of seconds (`604800s`)."""
    return f"{max(1, round(seconds))}s"


def human(seconds: float) -> str:
    """`604800` -> `7 d`, `5400` -> `1.5 h`, `90` -> `1.5 min`, `0.6` -> `0.6 s`."""
    seconds = round(seconds, 3)  # 59.999999 (float shares of a window) reads as the minute it is
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.3g} {unit}"
    return f"{seconds:.1f} s" if seconds < 10 else f"{seconds:.0f} s"


@dataclass(frozen=True)
class Window:
    """`seconds` up to `end` (unix time); `scrape_s` is the stack's scrape interval."""

    text: str
    seconds: int
    end: float
    scrape_s: float = 15.0

    @classmethod
    def parse(cls, text: str, scrape_s: float = 15.0, end: float | None = None) -> Window:
        return cls(text, window_seconds(text), time.time() if end is None else end, scrape_s)

    @property
    def prom(self) -> str:
        return duration(self.seconds)

    @property
    def start(self) -> float:
        return self.end - self.seconds

    @property
    def step_s(self) -> float:
        """The plots' step: PLOT_POINTS over the window, never finer than one scrape."""
        return max(self.seconds / PLOT_POINTS, self.scrape_s)

    @property
    def rate_range(self) -> str:
        """The range of the `rate()` behind each plotted point: a step, and at least four scrapes."""
        return duration(max(self.step_s, 4 * self.scrape_s))
