"""Prometheus-operator objects: ServiceMonitors, PrometheusRule, AlertmanagerConfig, dashboards.

The adapters take plain data (rule groups, an alertmanager.yml-shaped dict, Grafana JSON models)
so they do not care where it comes from; `observability_data` is the one place that reads the
observability package, so the compose stack and EKS alert on the same rules and routes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from infra.spec.model import Platform, Role, Service
from infra.targets.k8s.objects import Manifest, common_labels, manifest, selector_labels
from infra.targets.k8s.pods import PORT_NAME, secret_name

MONITORING_API = "monitoring.coreos.com/v1"
ALERTMANAGER_CONFIG_API = "monitoring.coreos.com/v1alpha1"
DASHBOARD_LABEL = {"grafana_dashboard": "1"}
RECEIVER_SECRET = "alertmanager-receivers"
GATEWAY_KEY = "gatewayMasterKey"
_SENTINEL = "inferops-secret:"
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True)
class ObservabilityData:
    """What the monitoring objects are made of, as plain data."""

    rule_groups: list[dict[str, Any]]
    alertmanager: dict[str, Any]  # alertmanager.yml shape; secret values are `secret_marker(key)`
    dashboards: dict[str, dict[str, Any]]  # name -> Grafana JSON model


def secret_marker(key: str) -> str:
    """A stand-in for a secret value, turned into a SecretKeySelector by the conversion."""
    return f"{_SENTINEL}{key}"


def observability_data(platform: Platform) -> ObservabilityData:
    """The same rule groups, routes and dashboards the compose stack ships."""
    from infra.observability.alertmanager import alertmanager_config
    from infra.observability.dashboards import dashboards
    from infra.observability.rules import GROUPS, group_dict
    from infra.spec.alerting import SECRET_KEYS

    markers = {k: secret_marker(k) for k in SECRET_KEYS}
    return ObservabilityData(
        rule_groups=[group_dict(platform, g) for g in GROUPS],
        alertmanager=alertmanager_config(platform, markers),
        dashboards=dashboards(platform),
    )


# --- ServiceMonitors -------------------------------------------------------------------------


def service_monitor(platform: Platform, svc: Service) -> Manifest:
    """Scrape one Service's pods; relabel so targets carry the `service`/`role`/`host` labels the
    rules select on (the compose scrape config sets the same labels statically)."""
    eks = platform.eks
    endpoint: dict[str, Any] = {
        "port": PORT_NAME,
        "path": svc.metrics_path,
        "interval": eks.scrape_interval,
        "relabelings": [
            {"targetLabel": "service", "replacement": svc.name, "action": "replace"},
            {"targetLabel": "role", "replacement": svc.role.value, "action": "replace"},
            {"sourceLabels": ["__meta_kubernetes_pod_node_name"], "targetLabel": "host", "action": "replace"},
        ],
    }
    if svc.role is Role.GATEWAY:
        # LiteLLM's /metrics needs the master key (v1.85+): read from the gateway's Secret.
        endpoint["authorization"] = {"type": "Bearer", "credentials": {"name": secret_name(svc), "key": GATEWAY_KEY}}
    spec = {
        "selector": {"matchLabels": selector_labels(platform, svc)},
        "namespaceSelector": {"matchNames": [eks.namespaces.inference]},
        "endpoints": [endpoint],
    }
    labels = {**common_labels(platform), **eks.monitor_labels}
    return manifest(MONITORING_API, "ServiceMonitor", svc.name, eks.namespaces.inference, labels, spec=spec)


# --- PrometheusRule --------------------------------------------------------------------------


def prometheus_rule(platform: Platform, groups: list[dict[str, Any]]) -> Manifest:
    eks = platform.eks
    labels = {**common_labels(platform), **eks.monitor_labels}
    return manifest(
        MONITORING_API, "PrometheusRule", "inferops-alerts", eks.namespaces.monitoring, labels, spec={"groups": groups}
    )


# --- AlertmanagerConfig ----------------------------------------------------------------------

_MATCHER = re.compile(r'^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"?(.*?)"?\s*$')
_SECRET_FIELDS = {"api_url": "apiURL", "routing_key": "routingKey", "service_key": "serviceKey", "url": "urlSecret"}
_RENAMES = {"api_url": "apiURL", "send_resolved": "sendResolved", "max_alerts": "maxAlerts"}


def _camel(key: str) -> str:
    if key in _RENAMES:
        return _RENAMES[key]
    head, *rest = key.split("_")
    return head + "".join(p.title() for p in rest)


def matcher(text: str) -> dict[str, str]:
    """`severity=~"critical|warning"` -> {name, matchType, value}."""
    m = _MATCHER.match(text)
    if m is None:
        raise ValueError(f"cannot convert Alertmanager matcher {text!r}")
    return {"name": m.group(1), "matchType": m.group(2), "value": m.group(3)}


def _route(route: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in route.items():
        if key == "matchers":
            out["matchers"] = [matcher(m) for m in value]
        elif key == "routes":
            out["routes"] = [_route(r) for r in value]
        else:
            out[_camel(key)] = value
    return out


def _notifier(conf: Mapping[str, Any], secret: str, used: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in conf.items():
        if isinstance(value, str) and value.startswith(_SENTINEL):
            name = value[len(_SENTINEL) :]
            if name not in used:
                used.append(name)
            out[_SECRET_FIELDS.get(key, _camel(key))] = {"name": secret, "key": name}
        else:
            out[_camel(key)] = value
    return out


def _receiver(rcv: Mapping[str, Any], secret: str, used: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {"name": rcv["name"]}
    for key, confs in rcv.items():
        if key.endswith("_configs"):
            out[_camel(key)] = [_notifier(c, secret, used) for c in confs]
    return out


def _utc_window(interval: Mapping[str, Any]) -> list[dict[str, Any]]:
    """AlertmanagerConfig time intervals have no `location`: shift a fixed-offset zone to UTC."""
    zone = ZoneInfo(interval.get("location", "UTC"))
    offsets = {datetime(2025, m, 1, tzinfo=zone).utcoffset() for m in (1, 7)}
    if len(offsets) != 1:
        raise ValueError(
            f"maintenance window in {zone.key} observes DST; AlertmanagerConfig has no location: "
            "use a fixed-offset zone"
        )
    offset = int(offsets.pop().total_seconds() // 60)  # type: ignore[union-attr]
    weekdays = interval.get("weekdays")
    out = []
    for t in interval.get("times", []):
        start, end = (_minutes(t[k]) - offset for k in ("start_time", "end_time"))
        for day_shift, (s, e) in _split(start, end):
            spec: dict[str, Any] = {"times": [{"startTime": _hhmm(s), "endTime": _hhmm(e)}]}
            if weekdays:
                spec["weekdays"] = [_shift_day(d, day_shift) for d in weekdays]
            out.append(spec)
    return out


def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _split(start: int, end: int) -> list[tuple[int, tuple[int, int]]]:
    """A [start, end) range in minutes relative to the local day, as (day shift, UTC range) pieces."""
    pieces = []
    for day in (-1, 0, 1):
        lo, hi = max(start, day * 1440), min(end, (day + 1) * 1440)
        if lo < hi:
            pieces.append((day, (lo - day * 1440, hi - day * 1440)))
    return pieces


def _shift_day(day: str, shift: int) -> str:
    if ":" in day:  # a range such as monday:friday
        a, b = day.split(":")
        return f"{_shift_day(a, shift)}:{_shift_day(b, shift)}"
    return _WEEKDAYS[(_WEEKDAYS.index(day) + shift) % 7]


def alertmanager_objects(platform: Platform, config: Mapping[str, Any], secrets: Mapping[str, Any]) -> list[Manifest]:
    """An AlertmanagerConfig with the routes and receivers of an alertmanager.yml-shaped dict, and
    the Secret its receivers read their URLs and keys from (values from `secrets`, Pulumi secrets)."""
    eks = platform.eks
    ns = eks.namespaces.monitoring
    used: list[str] = []
    spec: dict[str, Any] = {
        "route": _route(config["route"]),
        "receivers": [_receiver(r, RECEIVER_SECRET, used) for r in config.get("receivers", [])],
    }
    inhibit = [
        {
            "sourceMatch": [matcher(m) for m in rule.get("source_matchers", [])],
            "targetMatch": [matcher(m) for m in rule.get("target_matchers", [])],
            "equal": list(rule.get("equal", [])),
        }
        for rule in config.get("inhibit_rules", [])
    ]
    if inhibit:
        spec["inhibitRules"] = inhibit
    intervals = [
        {"name": ti["name"], "timeIntervals": [w for i in ti["time_intervals"] for w in _utc_window(i)]}
        for ti in config.get("time_intervals", [])
    ]
    if intervals:
        spec["muteTimeIntervals"] = intervals
    labels = {**common_labels(platform), **eks.monitor_labels}
    out: list[Manifest] = []
    if used:
        data = {k: secrets[k] for k in used}
        out.append(manifest("v1", "Secret", RECEIVER_SECRET, ns, labels, type="Opaque", stringData=data))
    out.append(manifest(ALERTMANAGER_CONFIG_API, "AlertmanagerConfig", "inferops", ns, labels, spec=spec))
    return out


def receiver_secret_keys(config: Mapping[str, Any]) -> list[str]:
    """The secret config keys an alertmanager.yml-shaped dict refers to (to read only those)."""
    used: list[str] = []
    for rcv in config.get("receivers", []):
        _receiver(rcv, RECEIVER_SECRET, used)
    return used


# --- Dashboards ------------------------------------------------------------------------------


def dashboard_config_maps(platform: Platform, boards: Mapping[str, dict[str, Any]]) -> list[Manifest]:
    """One ConfigMap per dashboard, labelled for the Grafana sidecar."""
    eks = platform.eks
    labels = {**common_labels(platform), **DASHBOARD_LABEL}
    return [
        manifest(
            "v1",
            "ConfigMap",
            f"dashboard-{name}",
            eks.namespaces.monitoring,
            labels,
            data={f"{name}.json": json.dumps(board, indent=2, sort_keys=True) + "\n"},
        )
        for name, board in boards.items()
    ]


def monitoring_objects(platform: Platform, data: ObservabilityData, secrets: Mapping[str, Any]) -> list[Manifest]:
    from infra.targets.k8s.workloads import eks_services

    monitors = [service_monitor(platform, s) for s in eks_services(platform) if s.metrics_path is not None]
    return [
        *monitors,
        prometheus_rule(platform, data.rule_groups),
        *alertmanager_objects(platform, data.alertmanager, secrets),
        *dashboard_config_maps(platform, data.dashboards),
    ]
