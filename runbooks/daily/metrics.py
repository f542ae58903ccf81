"""Seed 003's daily checks that live in Prometheus: error rate < 1 %, p99 latency < 5 s, cost.

Each evaluates the query of the alert rule that watches the same thing (InferenceErrorRateHigh,
InferenceLatencyHigh, DailyCostExceeded, GPUCostSpike) and judges today's value against the
stack's `inferops:dailyCheck` thresholds.
"""

from __future__ import annotations

from infra.spec.model import Platform
from runbooks.daily.findings import Finding, by_level
from runbooks.daily.prom import PromError, Prometheus, condition

PROM_KEY = "inferops:dailyCheck.prometheus_url"


def _label(labels: dict[str, str]) -> str:
    return labels.get("requested_model") or labels.get("service") or "-"


def slo(platform: Platform, prom: Prometheus | None) -> list[Finding]:
    """Gateway error rate and p99 latency per model group over the rules' 5 m window."""
    if prom is None:
        return [Finding("slo", "-", "n/a", f"no Prometheus for this stack (set {PROM_KEY})")]
    cfg = platform.daily_check
    out: list[Finding] = []
    try:
        for s in prom.query(condition("InferenceErrorRateHigh").query):
            pct = 100 * s.value
            verdict = by_level(pct, None, cfg.error_rate_fail_pct)
            out.append(Finding("slo", f"errors {_label(s.labels)}", verdict, f"{pct:.2f} % failed (5 m)", s.labels))
        for s in prom.query(condition("InferenceLatencyHigh").query):
            verdict = by_level(s.value, cfg.p99_latency_warn_s, None)
            out.append(Finding("slo", f"p99 {_label(s.labels)}", verdict, f"{s.value:.2f} s (5 m)", s.labels))
    except PromError as err:
        return [Finding("slo", "-", "warn", str(err))]
    return out or [Finding("slo", "-", "n/a", "no gateway requests in the last 5 minutes")]


def cost(platform: Platform, prom: Prometheus | None) -> list[Finding]:
    """Daily node cost and the last hour's GPU cost change (OpenCost/Kubecost metrics, EKS)."""
    if platform.target != "eks":
        return [Finding("cost", "-", "n/a", f"target {platform.target}: no cost model (OpenCost/Kubecost run on EKS)")]
    if prom is None:
        return [Finding("cost", "-", "warn", f"no Prometheus URL for this stack (set {PROM_KEY})")]
    cfg = platform.daily_check
    try:
        daily = prom.query(condition("DailyCostExceeded").query)
        spike = prom.query(condition("GPUCostSpike").query)
    except PromError as err:
        return [Finding("cost", "-", "warn", str(err))]
    if not daily:
        return [Finding("cost", "-", "warn", "no cost series: is the OpenCost/Kubecost model scraped?")]
    out = [
        Finding(
            "cost",
            "last 24 h",
            by_level(daily[0].value, cfg.daily_cost_warn_usd, None),
            f"${daily[0].value:,.0f} (warn above ${cfg.daily_cost_warn_usd:,.0f})",
            {"usd": daily[0].value},
        )
    ]
    for s in spike:
        verdict = by_level(s.value, cfg.gpu_cost_spike_warn_usd, None)
        detail = f"${s.value:+,.0f}/h (warn above ${cfg.gpu_cost_spike_warn_usd:,.0f})"
        out.append(Finding("cost", "GPU per hour, change in 1 h", verdict, detail, {"usd_per_h": s.value}))
    return out
