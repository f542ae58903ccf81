"""Daily-check thresholds of a stack (`inferops:dailyCheck`), read by `runbook.daily-check`.

The defaults are the thresholds of the alerts that point at the daily check
(infra/observability/rules.py: DiskSpaceLow 85/95 %, GPUMemoryHigh 97 % critical,
GPUTemperatureHigh 80 °C, GPUUnderutilized 20 %, InferenceErrorRateHigh 1 %,
InferenceLatencyHigh 5 s, DailyCostExceeded $1000, GPUCostSpike $100), so the checklist and
the alerts agree until a stack changes one on purpose. The GPUMemoryHigh warning level is
`inferops:gpuLayers.memory_high_ratio` (one knob, shared with runbook.gpu-layers). Nothing
here is secret.
"""

from __future__ import annotations

import re

from pydantic import Field, field_validator, model_validator

from infra.spec.base import Strict

SECRET_KEYS: tuple[str, ...] = ()


class DailyCheck(Strict):
    """What counts as warn / fail in the daily checklist (seed 004 and seed 003)."""

    log_window_h: float = Field(24, gt=0, le=24 * 31)  # seed 004: `docker logs --since 24h`
    log_pattern: str = Field("error", min_length=1)  # seed 004: `grep -i error` (a regex, case-insensitive)
    log_top: int = Field(5, ge=0, le=100)  # most frequent error lines shown per service
    log_max_lines: int = Field(100_000, ge=100, le=10_000_000)  # lines read per service at most
    disk_warn_pct: float = Field(85, gt=0, le=100)  # DiskSpaceLow warning (seed 000)
    disk_fail_pct: float = Field(95, gt=0, le=100)  # DiskSpaceLow critical
    gpu_memory_fail_pct: float = Field(97, gt=0, le=100)  # GPUMemoryHigh critical
    gpu_temp_warn_c: float = Field(80, gt=0, le=150)  # GPUTemperatureHigh
    gpu_util_low_pct: float = Field(20, ge=0, le=100)  # GPUUnderutilized (1 h average)
    error_rate_fail_pct: float = Field(1, gt=0, le=100)  # InferenceErrorRateHigh, seed 003 "< 1%"
    p99_latency_warn_s: float = Field(5, gt=0, le=3600)  # InferenceLatencyHigh, seed 003 "< 5초"
    daily_cost_warn_usd: float = Field(1000, gt=0)  # DailyCostExceeded
    gpu_cost_spike_warn_usd: float = Field(100, gt=0)  # GPUCostSpike (per hour, within an hour)
    # Where Prometheus answers (EKS: the kube-prometheus-stack's URL); default: the stack's own
    # `prometheus` service when it is enabled and published.
    prometheus_url: str | None = Field(None, pattern=r"^https?://[^\s/]+(/\S*)?$")

    @field_validator("log_pattern")
    @classmethod
    def _regex(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as err:
            raise ValueError(f"not a regular expression ({err}); e.g. 'error' or 'error|fatal'") from None
        return value

    @model_validator(mode="after")
    def _ordered(self) -> DailyCheck:
        if self.disk_warn_pct > self.disk_fail_pct:
            raise ValueError("disk_warn_pct must not exceed disk_fail_pct")
        return self
