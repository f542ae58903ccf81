"""The series behind each SLO item, over the report's window, from the stack's Prometheus.

Same metrics as the weekly items (runbooks/weekly/slo.py, capacity.py), as rates over one plot
step (at least four scrapes) so each point is what the dashboard would show at that time.
A Prometheus that fails a query gives an empty plot with the reason in the report's notes.
"""

from __future__ import annotations

from infra.spec.model import Platform
from runbooks.daily.gpu import dcgm_expected
from runbooks.daily.prom import PromError, Prometheus
from runbooks.gpu.memory import _gpu_key
from runbooks.reports.model import Line, Plot
from runbooks.weekly import slo
from runbooks.weekly.capacity import MEMORY_RATIO
from runbooks.weekly.window import Window

__all__ = ["LABELS", "plot_queries", "series"]

# Legend of each query's line; None: one line per series, named by its service (or GPU).
LABELS: dict[str, str | None] = {"p50": "p50", "p95": "p95", "p99": "p99", "gateway": "gateway requests",
                                 "backend": "backend calls"}  # fmt: skip


def plot_queries(w: Window) -> dict[str, str]:
    r = w.rate_range
    bucket = f"sum by (le) (rate({slo.LATENCY}_bucket[{r}]))"
    return {
        **{f"p{round(q * 100)}": f"histogram_quantile({q:g}, {bucket})" for q in slo.QUANTILES},
        "gateway": f"100 * (sum(rate({slo.PROXY_FAILED}[{r}])) or vector(0)) / sum(rate({slo.PROXY_TOTAL}[{r}]))",
        "backend": f"100 * (sum(rate({slo.BACKEND_FAILED}[{r}])) or vector(0)) / ((sum(rate({slo.BACKEND_FAILED}[{r}]))"
        f" or vector(0)) + sum(rate({slo.BACKEND_OK}[{r}])))",
        "up": f"100 * avg by (service) (avg_over_time(up[{r}]))",
        "gpu": f"100 * ({MEMORY_RATIO})",
    }


def _lines(prom: Prometheus, query: str, w: Window, label: str | None, key: str = "service") -> list[Line]:
    found = prom.range(query, w.start, w.end, w.step_s)
    if key == "gpu":
        return [Line(_gpu_key(s.labels), s.points) for s in found]
    return [Line(label or s.labels.get(key, "-"), s.points) for s in found]


def series(platform: Platform, prom: Prometheus, w: Window) -> tuple[list[Plot], list[str]]:
    """The plots (latency percentiles, error rates, availability, GPU memory) and notes on failures."""
    cfg = platform.weekly_check
    q = plot_queries(w)
    strict = min(cfg.p95_target(g)[1] for g in (*platform.gateway.routes, "-"))
    specs = [
        ("latency", "Gateway latency percentiles", "s", ["p50", "p95", "p99"], strict, f"p95 target {strict:g} s"),
        ("errors", "Error rate", "%", ["gateway", "backend"], cfg.error_rate_slo_pct, f"{cfg.error_rate_slo_pct:g} %"),
        (
            "availability",
            "Availability (share of scrapes answered)",
            "%",
            ["up"],
            cfg.availability_slo_pct,
            f"{cfg.availability_slo_pct:g} %",
        ),
    ]
    if dcgm_expected(platform):
        specs.append(("gpu-memory", "GPU memory used", "%", ["gpu"], cfg.gpu_memory_max_pct, "90 %"))
    plots, notes = [], []
    for key, title, unit, names, limit, limit_label in specs:
        lines: list[Line] = []
        try:
            for name in names:
                group = "gpu" if name == "gpu" else "service"
                lines.extend(_lines(prom, q[name], w, LABELS.get(name), group))
        except PromError as err:
            notes.append(f"plot {title!r}: {err}")
        query = "; ".join(q[n] for n in names)
        plots.append(Plot(key, title, unit, lines, limit, limit_label, query))
    return plots, notes
