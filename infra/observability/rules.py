"""Prometheus alert rules: one set of groups for every target (rule files here, PrometheusRule on EKS).

Metric names are the ones the exporters really publish; each rule names its exporter (rendered
as a comment above the rule). Service-level rules select targets by the `service` and `role`
labels the scrape config derives from the service table, so no rule lists services.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from infra.configfile import to_yaml
from infra.spec.errors import ConfigError, Problem
from infra.spec.model import Platform
from infra.spec.stackconfig import PROJECT, stack_file

# The service-table row whose scrape target stands for its host (HostDown, disk alerts).
NODE_EXPORTER = "node-exporter"
INFERENCE_NAMESPACE = "inference"  # seed 003's EKS namespace for the model pods

DISK_USED = (
    '(1 - node_filesystem_avail_bytes{fstype!~"tmpfs|overlay|squashfs"}'
    ' / node_filesystem_size_bytes{fstype!~"tmpfs|overlay|squashfs"})'
)
# Series cAdvisor kept per container name over an hour: one, plus one per restart or recreation.
CONTAINER_SERIES = 'count by (name, host, instance) (count_over_time(container_start_time_seconds{name!=""}[1h]))'
WHERE = "service {{ $labels.service }} ({{ $labels.instance }}) on host {{ $labels.host }}"


@dataclass(frozen=True)
class AlertRule:
    """One alert; `runbook` is the `invoke runbook.<name>` that handles it."""

    alert: str
    expr: str
    for_: str
    severity: str
    summary: str
    description: str
    runbook: str
    exporter: str
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RuleGroup:
    name: str
    rules: tuple[AlertRule, ...]


GPU = RuleGroup(
    "gpu",
    (
        # dcgm-exporter (FB values in MiB). Used share is used / (used + free); the seed's
        # used / free is not a percentage (it passes 0.9 at 47 % used).
        AlertRule(
            alert="GPUMemoryHigh",
            expr="DCGM_FI_DEV_FB_USED / (DCGM_FI_DEV_FB_USED + DCGM_FI_DEV_FB_FREE) > 0.9",
            for_="5m",
            severity="warning",
            summary="GPU memory over 90 %",
            description="GPU {{ $labels.gpu }} ({{ $labels.modelName }}) on {{ $labels.Hostname }} "
            "({{ $labels.instance }}) uses {{ $value | humanizePercentage }} of its memory.",
            runbook="gpu-layers",
            exporter="dcgm-exporter",
        ),
        # dcgm-exporter: seed 004's OOM scenario; critical inhibits the warning above.
        AlertRule(
            alert="GPUMemoryHigh",
            expr="DCGM_FI_DEV_FB_USED / (DCGM_FI_DEV_FB_USED + DCGM_FI_DEV_FB_FREE) > 0.97",
            for_="2m",
            severity="critical",
            summary="GPU memory over 97 %: the next allocation may OOM",
            description="GPU {{ $labels.gpu }} ({{ $labels.modelName }}) on {{ $labels.Hostname }} "
            "({{ $labels.instance }}) uses {{ $value | humanizePercentage }} of its memory; lower the GPU layers.",
            runbook="gpu-layers",
            exporter="dcgm-exporter",
        ),
        # dcgm-exporter: degrees Celsius.
        AlertRule(
            alert="GPUTemperatureHigh",
            expr="DCGM_FI_DEV_GPU_TEMP > 80",
            for_="5m",
            severity="warning",
            summary="GPU temperature over 80 °C",
            description="GPU {{ $labels.gpu }} on {{ $labels.Hostname }} ({{ $labels.instance }}) "
            "is at {{ $value }} °C.",
            runbook="daily-check",
            exporter="dcgm-exporter",
        ),
        # dcgm-exporter: percent busy.
        AlertRule(
            alert="GPUUnderutilized",
            expr="avg_over_time(DCGM_FI_DEV_GPU_UTIL[1h]) < 20",
            for_="2h",
            severity="info",
            summary="GPU under 20 % busy for hours: cost optimisation candidate",
            description="GPU {{ $labels.gpu }} on {{ $labels.Hostname }} ({{ $labels.instance }}) averaged "
            '{{ $value | printf "%.0f" }} % utilisation over the last hour for 2 hours.',
            runbook="daily-check",
            exporter="dcgm-exporter",
        ),
    ),
)

INFERENCE = RuleGroup(
    "inference",
    (
        # LiteLLM proxy (prometheus callback): end-to-end request latency per model group.
        AlertRule(
            alert="InferenceLatencyHigh",
            expr="histogram_quantile(0.99, sum by (le, service, requested_model) "
            "(rate(litellm_request_total_latency_metric_bucket[5m]))) > 5",
            for_="5m",
            severity="warning",
            summary="Inference p99 latency over 5 s",
            description="Model group {{ $labels.requested_model }} behind gateway {{ $labels.service }} "
            "has a p99 latency of {{ $value | humanizeDuration }}.",
            runbook="health",
            exporter="LiteLLM /metrics",
        ),
        # LiteLLM proxy: failed / all proxy requests per model group.
        AlertRule(
            alert="InferenceErrorRateHigh",
            expr="sum by (service, requested_model) (rate(litellm_proxy_failed_requests_metric_total[5m]))"
            " / sum by (service, requested_model) (rate(litellm_proxy_total_requests_metric_total[5m])) > 0.01",
            for_="5m",
            severity="critical",
            summary="Inference error rate over 1 %",
            description="Model group {{ $labels.requested_model }} behind gateway {{ $labels.service }} "
            "fails {{ $value | humanizePercentage }} of requests.",
            runbook="health",
            exporter="LiteLLM /metrics",
        ),
        # Prometheus scrape of llama-server while the LiteLLM gateway is up: the gateway is
        # serving this backend's model group from the next deployment in priority order.
        AlertRule(
            alert="InferenceBackendDown",
            expr='up{role="inference"} == 0 and on() (max(up{role="gateway"}) == 1)',
            for_="5m",
            severity="critical",
            summary="Inference backend down; the gateway is failing over",
            description=f"Inference backend {WHERE} does not answer; requests fail over to the next backend.",
            runbook="restart",
            exporter="Prometheus (up) for llama-server and LiteLLM",
        ),
        # llama-server --metrics: requests waiting for a free slot.
        AlertRule(
            alert="InferenceSaturated",
            expr="avg_over_time(llamacpp:requests_deferred[5m]) > 0",
            for_="10m",
            severity="warning",
            summary="Inference backend saturated: requests wait for a slot",
            description='{{ $value | printf "%.1f" }} requests on average waited for a free slot on ' + WHERE + ".",
            runbook="health",
            exporter="llama-server --metrics",
        ),
        # LiteLLM proxy: litellm_deployment_state is 0 ok, 1 partial outage, 2 outage.
        AlertRule(
            alert="GatewayDeploymentOutage",
            expr="litellm_deployment_state == 2",
            for_="5m",
            severity="warning",
            summary="Gateway marks a deployment as down",
            description="Gateway {{ $labels.service }} reports deployment {{ $labels.model_id }} "
            "({{ $labels.api_base }}) in outage.",
            runbook="health",
            exporter="LiteLLM /metrics",
        ),
        # kube-state-metrics (EKS only): container restart counter of the model pods.
        AlertRule(
            alert="ModelPodRestarting",
            expr=f'increase(kube_pod_container_status_restarts_total{{namespace="{INFERENCE_NAMESPACE}"}}[1h]) > 3',
            for_="5m",
            severity="warning",
            summary="Model pod restarting often",
            description='Pod {{ $labels.namespace }}/{{ $labels.pod }} restarted {{ $value | printf "%.0f" }} '
            "times in one hour.",
            runbook="restart",
            exporter="kube-state-metrics",
        ),
    ),
)

HOST = RuleGroup(
    "host",
    (
        # Prometheus itself: the scrape of a service in the table fails.
        AlertRule(
            alert="ServiceDown",
            expr='up{role!="vector-db"} == 0',
            for_="5m",
            severity="critical",
            summary="Service down (metrics scrape failing)",
            description=f"Prometheus cannot scrape {WHERE} (job {{{{ $labels.job }}}}).",
            runbook="restart",
            exporter="Prometheus (up)",
        ),
        # node-exporter: its scrape stands for the host.
        AlertRule(
            alert="HostDown",
            expr=f'up{{service="{NODE_EXPORTER}"}} == 0',
            for_="5m",
            severity="critical",
            summary="Host down (node-exporter unreachable)",
            description="Host {{ $labels.host }} ({{ $labels.instance }}) does not answer; "
            "service alerts on it are inhibited.",
            runbook="health",
            exporter="node-exporter",
        ),
        # node-exporter: seed 000 warns at 85 % used.
        AlertRule(
            alert="DiskSpaceLow",
            expr=f"{DISK_USED} > 0.85",
            for_="10m",
            severity="warning",
            summary="Disk over 85 % used",
            description="{{ $labels.mountpoint }} on host {{ $labels.host }} ({{ $labels.instance }}) "
            "is {{ $value | humanizePercentage }} full.",
            runbook="daily-check",
            exporter="node-exporter",
        ),
        AlertRule(
            alert="DiskSpaceLow",
            expr=f"{DISK_USED} > 0.95",
            for_="5m",
            severity="critical",
            summary="Disk over 95 % used",
            description="{{ $labels.mountpoint }} on host {{ $labels.host }} ({{ $labels.instance }}) "
            "is {{ $value | humanizePercentage }} full.",
            runbook="daily-check",
            exporter="node-exporter",
        ),
        # cAdvisor (the `cadvisor` row, compose hosts). cAdvisor has no restart counter, and its
        # container_start_time_seconds is Docker's *creation* time: an in-place restart (restart
        # policy) leaves it unchanged. Each restart does start a new series for the container
        # name (a new docker label `restartcount`, or a new container id when it is recreated),
        # so the restarts in the window are the distinct series seen for that name, minus one.
        AlertRule(
            alert="ContainerRestarting",
            expr=f'label_replace({CONTAINER_SERIES} - 1, "service", "$1", "name", "(.+)") > 3',
            for_="5m",
            severity="warning",
            summary="Container restarting often",
            description="Container {{ $labels.name }} on host {{ $labels.host }} ({{ $labels.instance }}) restarted "
            '{{ $value | printf "%.0f" }} times in one hour.',
            runbook="restart",
            exporter="cAdvisor",
        ),
    ),
)

COST = RuleGroup(
    "cost",
    (
        # OpenCost / Kubecost cost model (EKS): hourly node prices, averaged over a day.
        AlertRule(
            alert="DailyCostExceeded",
            expr="sum(avg_over_time(node_total_hourly_cost[1d])) * 24 > 1000",
            for_="1h",
            severity="warning",
            summary="Daily cost over $1000",
            description='The nodes cost ${{ $value | printf "%.0f" }} over the last 24 hours.',
            runbook="daily-check",
            exporter="OpenCost/Kubecost cost model",
        ),
        # OpenCost / Kubecost: per-GPU hourly price times GPU count; "or vector(0)" so a
        # scale-up from zero GPU nodes counts as a spike.
        AlertRule(
            alert="GPUCostSpike",
            expr="sum(node_gpu_hourly_cost * on(node) node_gpu_count)"
            " - (sum(node_gpu_hourly_cost offset 1h * on(node) node_gpu_count offset 1h) or vector(0)) > 100",
            for_="30m",
            severity="warning",
            summary="GPU cost spike",
            description='GPU spend rose by ${{ $value | printf "%.0f" }} per hour within the last hour.',
            runbook="daily-check",
            exporter="OpenCost/Kubecost cost model",
        ),
    ),
)

VECTOR_DB = RuleGroup(
    "vector-db",
    (
        # Prometheus scrape of Qdrant's /metrics: the RAG service's store does not answer
        # (seed 004 scenario 2). The runbook restores from a verified snapshot if data is lost.
        AlertRule(
            alert="QdrantDown",
            expr='up{role="vector-db"} == 0',
            for_="5m",
            severity="critical",
            summary="Qdrant down: RAG cannot search or index",
            description=f"Vector database {WHERE} does not answer; RAG /health returns 503.",
            runbook="qdrant-restore",
            exporter="Prometheus (up) for Qdrant /metrics",
        ),
    ),
)

WATCH = RuleGroup(
    "watch",
    (
        # runbook.watch's heartbeat (runbooks/watch/heartbeat.py: node-exporter textfile or the
        # watch's /metrics): the dead-man's switch. A watch that stopped leaves its last timestamp
        # behind, which goes stale; three missed cycles (at least 5 minutes) mean nothing watches.
        AlertRule(
            alert="WatchStopped",
            expr="time() - inferops_watch_last_cycle_timestamp_seconds"
            " > clamp_min(3 * inferops_watch_interval_seconds, 300)",
            for_="5m",
            severity="critical",
            summary="The watch stopped: nothing checks the platform",
            description="No watch cycle on stack {{ $labels.stack }} ({{ $labels.instance }}) "
            'for {{ $value | printf "%.0f" }} s.',
            runbook="watch",
            exporter="runbook.watch heartbeat (textfile collector or the watch's /metrics)",
        ),
    ),
)

GROUPS: tuple[RuleGroup, ...] = (GPU, INFERENCE, HOST, VECTOR_DB, COST, WATCH)
ALERT_NAMES: frozenset[str] = frozenset(r.alert for g in GROUPS for r in g.rules)
RULES_DIR = "/etc/prometheus/rules"


def runbook_url(platform: Platform, alert: str) -> str:
    return f"{platform.alerting.runbook_base_url.rstrip('/')}/{alert}.md"


def rule_dict(platform: Platform, rule: AlertRule) -> dict[str, Any]:
    """One rule as Prometheus reads it, with the stack's `for:` override applied."""
    return {
        "alert": rule.alert,
        "expr": rule.expr,
        "for": platform.alerting.rule_for.get(rule.alert, rule.for_),
        "labels": {"severity": rule.severity, **rule.labels},
        "annotations": {
            "summary": rule.summary,
            "description": rule.description,
            "runbook_url": runbook_url(platform, rule.alert),
            "runbook": f"invoke runbook.{rule.runbook}",
        },
    }


def group_dict(platform: Platform, group: RuleGroup) -> dict[str, Any]:
    return {
        "name": group.name,
        "interval": platform.alerting.evaluation_interval,
        "rules": [rule_dict(platform, r) for r in group.rules],
    }


def rule_file_text(platform: Platform, group: RuleGroup) -> str:
    """A rule file with a `# needs:` comment above each rule naming its exporter."""
    body = group_dict(platform, group)
    rules = body.pop("rules")
    head = to_yaml({"groups": [body]}).rstrip("\n")
    lines = [f"# Generated from infra/observability/rules.py ({group.name}); edit there.", head, "  rules:"]
    for rule, rendered in zip(group.rules, rules, strict=True):
        lines.append(f"  # needs: {rule.exporter}")
        lines.extend("  " + ln if ln else ln for ln in to_yaml([rendered]).rstrip("\n").splitlines())
    return "\n".join(lines) + "\n"


def check_rule_for(platform: Platform) -> None:
    """`inferops:alerting.rule_for` names only alerts that exist (ConfigError otherwise)."""
    unknown = sorted(set(platform.alerting.rule_for) - ALERT_NAMES)
    if unknown:
        allowed = f"unknown alert; known: {', '.join(sorted(ALERT_NAMES))}"
        problems = [Problem(f"{PROJECT}:alerting.rule_for.{name}", name, allowed) for name in unknown]
        raise ConfigError(str(stack_file(platform.stack)), problems)


def rule_files(platform: Platform) -> dict[str, str]:
    """File name -> content for every rule group."""
    check_rule_for(platform)
    return {f"{g.name}.yml": rule_file_text(platform, g) for g in GROUPS}
