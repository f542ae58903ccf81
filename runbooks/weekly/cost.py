"""Seed 003's 비용 분석 (Kubecost 리포트 → 이상 비용 식별): node cost over the window, where a cost
model (OpenCost / Kubecost, `node_total_hourly_cost`) is scraped; n/a otherwise, never $0."""

from __future__ import annotations

from infra.spec.model import Platform
from runbooks.daily.findings import Finding, Verdict
from runbooks.daily.prom import PromError, Prometheus
from runbooks.weekly.window import Window

__all__ = ["COST", "GPU_COST", "cost", "queries"]

COST = "node_total_hourly_cost"
GPU_COST = "node_gpu_hourly_cost"
WEEK_S = 7 * 86400


def queries(w: Window) -> dict[str, str]:
    """Average hourly price over the window, summed over nodes (the DailyCostExceeded rule's form)."""
    return {"total": f"sum(avg_over_time({COST}[{w.prom}]))", "gpu": f"sum(avg_over_time({GPU_COST}[{w.prom}]))"}


def cost(platform: Platform, prom: Prometheus | None, w: Window) -> list[Finding]:
    how = f"sum(avg_over_time({COST}[{w.text}])) x hours (OpenCost/Kubecost cost model)"
    if prom is None:
        return [Finding("cost", "-", "n/a", "no Prometheus for this stack", {}, how)]
    try:
        answers = {k: prom.query(q) for k, q in queries(w).items()}
    except PromError as err:
        return [Finding("cost", "-", "warn", str(err), {}, how)]
    if not answers["total"]:
        why = f"no cost metric ({COST}): no OpenCost/Kubecost model scraped (target {platform.target})"
        return [Finding("cost", "-", "n/a", why, {}, how)]
    hours = w.seconds / 3600
    total = answers["total"][0].value * hours
    week = total * WEEK_S / w.seconds
    limit = platform.weekly_check.weekly_cost_warn_usd
    verdict: Verdict = "warn" if week > limit else "ok"
    gpu = answers["gpu"][0].value * hours if answers["gpu"] else None
    share = f", GPUs ${gpu:,.0f} ({100 * gpu / total:.0f} %)" if gpu is not None and total else ""
    detail = f"${total:,.0f} in {w.text}{share}; ${week:,.0f} a week at this rate"
    data = {"usd": round(total, 2), "usd_per_week": round(week, 2), "gpu_usd": gpu}
    return [Finding("cost", "nodes", verdict, detail, data, how, f"< ${limit:,.0f} a week (7 x DailyCostExceeded)")]
