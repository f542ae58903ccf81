"""What a report holds: the findings of one check run, and the plots of the series behind them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from runbooks.daily.findings import Finding

__all__ = ["Line", "Plot", "Report"]


@dataclass(frozen=True)
class Line:
    label: str
    points: list[tuple[float, float]]  # (unix time, value)


@dataclass(frozen=True)
class Plot:
    """One chart: a title, the y unit, its lines, and the SLO limit drawn across it (if any)."""

    key: str  # file-name safe: "latency", "errors", "availability", "gpu-memory"
    title: str
    unit: str
    lines: list[Line]
    limit: float | None = None
    limit_label: str = ""
    query: str = ""  # the PromQL behind it, printed under the image
    png: bytes = b""

    @property
    def empty(self) -> bool:
        return not any(line.points for line in self.lines)


@dataclass
class Report:
    kind: str  # "daily-check" | "weekly-check"
    stack: str
    title: str
    generated: str  # ISO 8601, UTC
    window: str  # "7d", "24 h of logs": what the figures cover
    findings: list[Finding]
    counts: dict[str, int]
    verdict: str
    plots: list[Plot] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)  # prometheus URL, run record path
