"""Weekly-check settings of a stack (`inferops:weeklyCheck`), read by `runbook.weekly-check`.

The defaults are the seeds' numbers, so an unconfigured stack is judged by them: seed 002's SLO
targets (p95 < 2.5 / 3.0 / 4.0 s for the FAST / BALANCED / CREATIVE modes, error rate < 1 %,
99.9 % uptime), seed 003's GPU use band (40-80 %) and GPU memory limit (< 90 %), and the
DailyCostExceeded alert ($1000 a day, so $7000 a week). Model groups map to modes in
`group_modes` (the gateway's groups, e.g. chat, code); a group not listed gets `default_mode`.
Nothing here is secret.
"""

from __future__ import annotations

import re

from pydantic import Field, field_validator, model_validator

from infra.spec.base import Strict

__all__ = ["SECRET_KEYS", "WINDOW", "WeeklyCheck", "window_seconds"]

SECRET_KEYS: tuple[str, ...] = ()
WINDOW = re.compile(r"^(?P<n>[1-9][0-9]*)(?P<unit>[smhdw])$")
UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
MIN_WINDOW_S = 30  # two scrapes at least, at the slowest usual scrape interval (15 s)
MAX_WINDOW_S = 90 * 86400


def window_seconds(text: str) -> int:
    """`7d` -> 604800; ValueError (naming the form) for anything else, or outside 30 s .. 90 d."""
    m = WINDOW.match(str(text).strip())
    if m is None:
        raise ValueError(f"{text!r} is not a window: give a number and a unit s/m/h/d/w, e.g. 7d, 90m, 300s")
    seconds = int(m["n"]) * UNIT_S[m["unit"]]
    if not MIN_WINDOW_S <= seconds <= MAX_WINDOW_S:
        raise ValueError(f"{text!r} is outside {MIN_WINDOW_S} s .. 90 d")
    return seconds


class WeeklyCheck(Strict):
    """What counts as warn / fail in the weekly check (seeds 002, 003 and 004)."""

    window: str = "7d"  # the review window: seed 004's `docker logs --since 7d`, a week of metrics
    p95_slo_s: dict[str, float] = Field(default_factory=lambda: {"fast": 2.5, "balanced": 3.0, "creative": 4.0})
    group_modes: dict[str, str] = Field(default_factory=lambda: {"chat": "fast", "code": "balanced"})
    default_mode: str = "balanced"
    error_rate_slo_pct: float = Field(1, gt=0, le=100)  # seed 002/003: error rate < 1 %
    availability_slo_pct: float = Field(99.9, gt=0, lt=100)  # seed 002: service uptime 99.9 %
    gpu_util_low_pct: float = Field(40, ge=0, le=100)  # seed 003 daily table: GPU use 40-80 %
    gpu_util_high_pct: float = Field(80, ge=0, le=100)
    gpu_memory_max_pct: float = Field(90, gt=0, le=100)  # seed 003: GPU memory < 90 % (headroom 10 %)
    log_warn_mib: float = Field(500, gt=0)  # one container's log files, all rotated files together
    log_fail_mib: float = Field(2048, gt=0)
    weekly_cost_warn_usd: float = Field(7000, gt=0)  # 7 x DailyCostExceeded
    # The operator's registry (Docker Registry HTTP API v2, e.g. a pull-through mirror) asked for
    # newer tags of each pin; None: that part of the images item is n/a.
    registry_url: str | None = Field(None, pattern=r"^https?://[^\s/]+(/\S*)?$")
    registry_timeout_s: float = Field(5, gt=0, le=120)
    collections: list[str] = Field(default_factory=list)  # Qdrant collections to verify (default: all)
    scratch_prefix: str = Field("weekly-verify-", pattern=r"^[A-Za-z0-9_-]{1,40}$")
    reports_dir: str = Field("reports", min_length=1)  # relative paths: to the repository root

    @field_validator("window")
    @classmethod
    def _window(cls, value: str) -> str:
        window_seconds(value)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> WeeklyCheck:
        modes = set(self.p95_slo_s)
        unknown = sorted({m for m in (*self.group_modes.values(), self.default_mode) if m not in modes})
        if unknown:
            raise ValueError(f"modes {', '.join(unknown)} have no p95_slo_s entry (known: {', '.join(sorted(modes))})")
        if any(v <= 0 for v in self.p95_slo_s.values()):
            raise ValueError("p95_slo_s values must be seconds above 0")
        if self.gpu_util_low_pct > self.gpu_util_high_pct:
            raise ValueError("gpu_util_low_pct must not exceed gpu_util_high_pct")
        if self.log_warn_mib > self.log_fail_mib:
            raise ValueError("log_warn_mib must not exceed log_fail_mib")
        return self

    def p95_target(self, group: str) -> tuple[str, float]:
        """The mode of a model group and its p95 target in seconds."""
        mode = self.group_modes.get(group, self.default_mode)
        return mode, self.p95_slo_s[mode]
