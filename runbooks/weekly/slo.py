"""Seed 002's SLO targets over the review window, from the stack's Prometheus, with error budgets.

- latency: p50 / p95 / p99 of the gateway's end-to-end request latency per model group
  (`litellm_request_total_latency_metric`), p95 judged against the group's mode (FAST 2.5 s,
  BALANCED 3.0 s, CREATIVE 4.0 s);
- errors: the share of failed requests at the gateway (what callers saw) and of failed backend
  calls (what the gateway saw, its own health checks included: a stopped backend shows here even
  when failover hid it from callers), against error rate < 1 %;
- availability: the share of scrapes each service answered (`up`), against 99.9 % uptime.

Counters that first appear inside the window (LiteLLM creates a failure series at the first
failure) are counted whole: `increase()` alone would see them start at their first value and
report no failures at all.
"""

from __future__ import annotations

from infra.spec.model import Platform, Role
from runbooks.daily.findings import Finding, Verdict
from runbooks.daily.prom import PromError, Prometheus
from runbooks.weekly.window import Window, human

__all__ = [
    "BACKEND_FAILED",
    "BACKEND_OK",
    "LATENCY",
    "PROXY_FAILED",
    "PROXY_TOTAL",
    "QUANTILES",
    "availability",
    "availability_queries",
    "count_query",
    "counted_queries",
    "errors",
    "grouped",
    "latency",
    "latency_query",
]

LATENCY = "litellm_request_total_latency_metric"
PROXY_FAILED = "litellm_proxy_failed_requests_metric_total"
PROXY_TOTAL = "litellm_proxy_total_requests_metric_total"
BACKEND_FAILED = "litellm_deployment_failure_responses_total"
BACKEND_OK = "litellm_deployment_success_responses_total"
QUANTILES = (0.5, 0.95, 0.99)
# LiteLLM versions (and its health checks vs real requests) disagree on which label names the model
# group on the histogram: `group` is requested_model where set, else model, so each group is one series.
GROUP_LABELS = "group"
SOFT_ROLES = (Role.MONITORING, Role.TEST_SUPPORT)  # down is a warning for these (as in runbook.health)


def grouped(selector: str) -> str:
    """`selector` with a `group` label: requested_model where set, else model."""
    by_model = f'label_replace({selector}, "group", "$1", "model", "(.+)")'
    return f'label_replace({by_model}, "group", "$1", "requested_model", "(.+)")'


def latency_query(q: float, w: Window) -> str:
    bucket = grouped(f"increase({LATENCY}_bucket[{w.prom}])")
    return f"histogram_quantile({q:g}, sum by (le, {GROUP_LABELS}) ({bucket}))"


def counted_queries(metric: str, w: Window) -> tuple[str, str]:
    """How much `metric` grew in the window: series older than the window by `increase`, series
    born inside it by their whole value (they started at 0). Sum the two answers."""
    old = f"sum(increase({metric}[{w.prom}]) and {metric} offset {w.prom})"
    new = f"sum({metric} unless {metric} offset {w.prom})"
    return old, new


def _counted(prom: Prometheus, metric: str, w: Window) -> float:
    return sum(s.value for q in counted_queries(metric, w) for s in prom.query(q))


def count_query(w: Window) -> str:
    return f"sum by ({GROUP_LABELS}) ({grouped(f'increase({LATENCY}_count[{w.prom}])')})"


def _group(labels: dict[str, str]) -> str:
    return labels.get("group") or "-"


def latency(platform: Platform, prom: Prometheus, w: Window) -> list[Finding]:
    """p50/p95/p99 per model group; p95 above the group's mode target fails."""
    cfg = platform.weekly_check
    by_q: dict[float, dict[str, float]] = {}
    for q in QUANTILES:
        by_q[q] = {_group(s.labels): s.value for s in prom.query(latency_query(q, w))}
    count_q = count_query(w)
    counts = {_group(s.labels): s.value for s in prom.query(count_q)}
    how = f"histogram_quantile over increase({LATENCY}_bucket[{w.text}]) per model group (Prometheus)"
    out = []
    for group in sorted(by_q[0.95]):
        mode, target = cfg.p95_target(group)
        p50, p95, p99 = (by_q[q].get(group) for q in QUANTILES)
        verdict: Verdict = "fail" if p95 is not None and p95 > target else "ok"
        values = zip(QUANTILES, (p50, p95, p99), strict=True)
        figures = ", ".join(f"p{round(q * 100)} {v:.3g} s" for q, v in values if v is not None)
        n = counts.get(group, 0.0)
        detail = f"{figures} over {n:.0f} requests in {w.text}"
        data = {"group": group, "mode": mode, "p50_s": p50, "p95_s": p95, "p99_s": p99, "requests": round(n),
                "p95_target_s": target}  # fmt: skip
        out.append(Finding("latency", group, verdict, detail, data, how, f"p95 < {target:g} s ({mode} mode, seed 002)"))
    return out or [Finding("latency", "-", "n/a", f"no gateway requests in {w.text}", {}, how, "p95 < 2.5/3.0/4.0 s")]


def _budget(failed: float, total: float, slo_pct: float) -> dict[str, float]:
    allowed = total * slo_pct / 100
    return {"allowed": round(allowed, 3), "spent_pct": round(100 * failed / allowed, 1) if allowed else 0.0}


def _error_finding(subject: str, failed: float, total: float, slo_pct: float, how: str, w: Window) -> Finding:
    normal = f"< {slo_pct:g} % (seed 002/003)"
    if total <= 0:
        return Finding("errors", subject, "n/a", f"no {subject} in {w.text}", {}, how, normal)
    pct = 100 * failed / total
    budget = _budget(failed, total, slo_pct)
    verdict: Verdict = "fail" if pct > slo_pct else "ok"
    detail = (f"{pct:.2f} % failed ({failed:.0f} of {total:.0f} in {w.text}); error budget "
              f"{budget['allowed']:.1f} failures, {budget['spent_pct']:g} % spent")  # fmt: skip
    data = {"failed": round(failed), "total": round(total), "error_rate_pct": round(pct, 3), "budget": budget}
    return Finding("errors", subject, verdict, detail, data, how, normal)


def errors(platform: Platform, prom: Prometheus, w: Window) -> list[Finding]:
    slo = platform.weekly_check.error_rate_slo_pct
    failed, total = _counted(prom, PROXY_FAILED, w), _counted(prom, PROXY_TOTAL, w)
    how = f"growth of {PROXY_FAILED} / {PROXY_TOTAL} over {w.text}"
    out = [_error_finding("gateway requests", failed, total, slo, how, w)]
    bad, good = _counted(prom, BACKEND_FAILED, w), _counted(prom, BACKEND_OK, w)
    how = f"growth of {BACKEND_FAILED} / (it + {BACKEND_OK}) over {w.text}, the gateway's health checks included"
    out.append(_error_finding("backend calls", bad, bad + good, slo, how, w))
    return out


def availability_queries(w: Window) -> tuple[str, str]:
    return (f"avg by (service) (avg_over_time(up[{w.prom}]))", f"max by (service) (count_over_time(up[{w.prom}]))")


def availability(platform: Platform, prom: Prometheus, w: Window) -> list[Finding]:
    """Share of answered scrapes per service; below the target fails (warns for monitoring)."""
    cfg = platform.weekly_check
    up_q, count_q = availability_queries(w)
    ups = {s.labels.get("service", "-"): s.value for s in prom.query(up_q)}
    scrapes = {s.labels.get("service", "-"): s.value for s in prom.query(count_q)}
    how = f"avg_over_time(up[{w.text}]) per service: the share of Prometheus scrapes it answered"
    normal = f">= {cfg.availability_slo_pct:g} % up (seed 002)"
    out = []
    for svc in platform.enabled():
        if svc.name not in ups:
            why = f"not scraped by Prometheus in {w.text}"
            out.append(Finding("availability", svc.name, "n/a", why, {}, how, normal))
            continue
        pct = 100 * ups[svc.name]
        covered = scrapes.get(svc.name, 0) * w.scrape_s
        down = (1 - ups[svc.name]) * covered
        allowed = (1 - cfg.availability_slo_pct / 100) * covered
        spent = round(100 * down / allowed, 1) if allowed else 0.0
        verdict: Verdict = "ok" if pct >= cfg.availability_slo_pct else ("warn" if svc.role in SOFT_ROLES else "fail")
        cover = f"{human(covered)} of data" + (f" of the {w.text} window" if covered < 0.95 * w.seconds else "")
        detail = f"{pct:.3f} % up over {cover}: {human(down)} down, budget {human(allowed)}, {spent:g} % spent"
        data = {"up_pct": round(pct, 4), "covered_s": round(covered), "down_s": round(down),
                "budget_s": round(allowed, 1), "budget_spent_pct": spent}  # fmt: skip
        out.append(Finding("availability", svc.name, verdict, detail, data, how, normal))
    return out


def slo(platform: Platform, prom: Prometheus | None, w: Window) -> list[Finding]:
    """All three; a Prometheus that does not answer is one warning, never a silent pass."""
    if prom is None:
        why = "no Prometheus for this stack (set inferops:dailyCheck.prometheus_url or enable prometheus)"
        return [Finding(c, "-", "n/a", why) for c in ("latency", "errors", "availability")]
    try:
        return latency(platform, prom, w) + errors(platform, prom, w) + availability(platform, prom, w)
    except PromError as err:
        return [Finding("slo", "-", "warn", str(err))]
