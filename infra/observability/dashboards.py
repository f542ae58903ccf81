"""Grafana dashboards built with grafana-foundation-sdk (no hand-written JSON).

`inference`: seed 002's 12 panels mapped onto what the stack really exports (LiteLLM for
requests, latency and errors; llama.cpp for slots and tokens; cAdvisor for memory) plus the
gateway's failover panels. `gpu`: DCGM utilisation, memory and temperature, and host disk.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from grafana_foundation_sdk.builders import bargauge, dashboard, piechart, prometheus, stat, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import Dashboard, DataSourceRef

from infra.spec.model import Platform

DATASOURCE_UID = "prometheus"
DATASOURCE = DataSourceRef(type_val="prometheus", uid=DATASOURCE_UID)
RI = "$__rate_interval"

LATENCY = "litellm_request_total_latency_metric"
TOTAL = "litellm_proxy_total_requests_metric_total"
FAILED = "litellm_proxy_failed_requests_metric_total"


def _query(expr: str, legend: str, ref: str) -> prometheus.Dataquery:
    q = prometheus.Dataquery().expr(expr).datasource(DATASOURCE).ref_id(ref)
    return q.legend_format(legend) if legend else q


def _panel(kind: Any, title: str, queries: list[tuple[str, str]], unit: str = "short", width: int = 8) -> Any:
    panel = kind.Panel().title(title).datasource(DATASOURCE).unit(unit).span(width).height(8)
    for i, (expr, legend) in enumerate(queries):
        panel = panel.with_target(_query(expr, legend, chr(ord("A") + i)))
    return panel


def _quantile(q: float) -> str:
    return f"histogram_quantile({q}, sum by (le) (rate({LATENCY}_bucket[{RI}])))"


def inference_dashboard(platform: Platform) -> Dashboard:
    ts = timeseries
    panels = [
        # 1-12: seed 002's panels, in its order.
        _panel(ts, "Request rate (RPS)", [(f"sum by (requested_model) (rate({TOTAL}[{RI}]))", "{{requested_model}}")],
               "reqps"),
        _panel(ts, "Active requests", [
            ("sum by (service) (llamacpp:requests_processing)", "{{service}} processing"),
            ("sum by (service) (llamacpp:requests_deferred)", "{{service}} deferred"),
        ]),
        _panel(ts, "Inference latency p50 / p95 / p99",
               [(_quantile(0.5), "p50"), (_quantile(0.95), "p95"), (_quantile(0.99), "p99")], "s"),
        _panel(ts, "Error rate", [(
            f"sum by (requested_model) (rate({FAILED}[{RI}])) / sum by (requested_model) (rate({TOTAL}[{RI}]))",
            "{{requested_model}}",
        )], "percentunit"),
        # llama.cpp exports no cache counters: prompt throughput is the closest signal.
        _panel(ts, "Prompt processing (tokens/s, no cache metric exported)",
               [("sum by (service) (llamacpp:prompt_tokens_seconds)", "{{service}}")]),
        _panel(stat, "Total requests", [
            (f"sum(increase({TOTAL}[$__range]))", "all"),
            (f"sum(increase({FAILED}[$__range]))", "failed"),
        ]),
        _panel(stat, "Model status (1 = up)", [('up{role="inference"}', "{{service}}")]),
        _panel(ts, "Memory (container working set)",
               [('sum by (name) (container_memory_working_set_bytes{name!=""})', "{{name}}")], "bytes"),
        _panel(piechart, "Request distribution by model",
               [(f"sum by (requested_model) (increase({TOTAL}[$__range]))", "{{requested_model}}")]),
        _panel(ts, "Tokens generated per second by backend",
               [(f"sum by (service) (rate(llamacpp:tokens_predicted_total[{RI}]))", "{{service}}")]),
        _panel(bargauge, "Average latency by model", [(
            f"sum by (requested_model) (rate({LATENCY}_sum[{RI}]))"
            f" / sum by (requested_model) (rate({LATENCY}_count[{RI}]))",
            "{{requested_model}}",
        )], "s"),
        _panel(ts, "Error types", [(f"sum by (exception_class) (rate({FAILED}[{RI}]))", "{{exception_class}}")]),
        # Gateway: failovers and deployment state.
        _panel(ts, "Gateway failovers", [
            ("sum by (requested_model, fallback_model) (increase(litellm_deployment_successful_fallbacks_total"
             f"[{RI}]))", "{{requested_model}} -> {{fallback_model}}"),
            (f"sum by (requested_model) (increase(litellm_deployment_failed_fallbacks_total[{RI}]))",
             "{{requested_model}} failed"),
        ]),
        _panel(stat, "Gateway deployment state (0 ok, 1 partial, 2 outage)",
               [("max by (model_id) (litellm_deployment_state)", "{{model_id}}")]),
    ]  # fmt: skip
    return _dashboard(platform, "inference", "Inference platform", panels)


def gpu_dashboard(platform: Platform) -> Dashboard:
    panels = [
        _panel(timeseries, "GPU utilisation", [("DCGM_FI_DEV_GPU_UTIL", "{{Hostname}} gpu {{gpu}}")], "percent"),
        _panel(timeseries, "GPU memory used", [(
            "DCGM_FI_DEV_FB_USED / (DCGM_FI_DEV_FB_USED + DCGM_FI_DEV_FB_FREE)",
            "{{Hostname}} gpu {{gpu}}",
        )], "percentunit"),
        _panel(timeseries, "GPU temperature", [("DCGM_FI_DEV_GPU_TEMP", "{{Hostname}} gpu {{gpu}}")], "celsius"),
        _panel(timeseries, "Disk used", [(
            '1 - node_filesystem_avail_bytes{fstype!~"tmpfs|overlay|squashfs"}'
            ' / node_filesystem_size_bytes{fstype!~"tmpfs|overlay|squashfs"}',
            "{{host}} {{mountpoint}}",
        )], "percentunit"),
    ]  # fmt: skip
    return _dashboard(platform, "gpu", "GPU and host", panels)


def _dashboard(platform: Platform, uid: str, title: str, panels: list[Any]) -> Dashboard:
    board = (
        dashboard.Dashboard(f"{title} ({platform.stack})")
        .uid(f"inferops-{uid}")
        .tags(["inferops", platform.stack])
        .refresh("10s")
        .time("now-1h", "now")
        .timezone("browser")
    )
    for number, panel in enumerate(panels, start=1):
        board = board.with_panel(panel.id(number))
    return board.build()


def dashboards(platform: Platform) -> dict[str, dict[str, Any]]:
    """Dashboard name -> Grafana JSON model."""
    built = {"inference": inference_dashboard(platform), "gpu": gpu_dashboard(platform)}
    return {name: json.loads(json.dumps(board, cls=JSONEncoder)) for name, board in built.items()}


def dashboard_json(board: dict[str, Any]) -> str:
    return json.dumps(board, indent=2, sort_keys=True) + "\n"


def panel_queries(board: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(panel title, PromQL) for every query of a dashboard, as shipped."""
    for panel in board.get("panels", []):
        for target in panel.get("targets", []):
            yield panel.get("title", "?"), target["expr"]
