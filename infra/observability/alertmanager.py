"""alertmanager.yml from the stack's `alerting` section: routes, receivers, inhibitions, mute windows.

Receiver credentials are filled in from `secrets` (Pulumi config secrets) at render time; the
file is therefore a secret ConfigFile. Rendering without the secret values (export, tests)
writes `REDACTED_URL` markers that keep the file valid for `amtool check-config`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from infra.configfile import require_secret
from infra.spec.alerting import Alerting, MaintenanceWindow, Receiver
from infra.spec.model import Platform

REDACTED = "https://redacted.invalid/{key}"
SEVERITIES = ("critical", "warning", "info")


def redacted(keys: tuple[str, ...]) -> dict[str, str]:
    """Stand-ins for secret values: valid URLs that name the key and leak nothing."""
    return {k: REDACTED.format(key=k) for k in keys}


def receiver_config(platform: Platform, rcv: Receiver, secrets: Mapping[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {"name": rcv.name}
    resolved = rcv.send_resolved
    if rcv.kind == "discard":
        return out
    if rcv.service is not None:
        # An in-stack receiver: its address comes from the service table.
        url = platform.internal_url(platform.service(rcv.service), rcv.path)
        out["webhook_configs"] = [{"url": url, "send_resolved": resolved}]
        return out
    value = require_secret(secrets, rcv.secret_key or "")
    if rcv.kind == "slack":
        slack: dict[str, Any] = {
            "api_url": value,
            "send_resolved": resolved,
            "title": "{{ .Status | toUpper }}: {{ .CommonLabels.alertname }} ({{ .CommonLabels.severity }})",
            "text": "{{ range .Alerts }}{{ .Annotations.description }}\n"
            "Runbook: {{ .Annotations.runbook_url }}\n{{ end }}",
        }
        if rcv.channel:
            slack["channel"] = rcv.channel
        out["slack_configs"] = [slack]
    elif rcv.kind == "pagerduty":
        out["pagerduty_configs"] = [{"routing_key": value, "send_resolved": resolved}]
    else:
        out["webhook_configs"] = [{"url": value, "send_resolved": resolved}]
    return out


def _severity_matcher(severities: list[str]) -> str:
    return f'severity=~"{"|".join(severities)}"'


def _mute_routes(receiver: str, windows: tuple[MaintenanceWindow, ...]) -> list[dict[str, Any]]:
    """Child routes that deliver to the same receiver but stay silent inside a window."""
    return [{"receiver": receiver, "matchers": list(w.matchers), "mute_time_intervals": [w.name]} for w in windows]


def routes(alerting: Alerting) -> list[dict[str, Any]]:
    """One route per receiver matching the severities sent to it, `continue` so all get it."""
    order: list[str] = []
    for sev in SEVERITIES:
        for name in alerting.routes.get(sev, ()):  # type: ignore[call-overload]
            if name not in order:
                order.append(name)
    out = []
    for name in order:
        sevs = [s for s in SEVERITIES if name in alerting.routes.get(s, ())]  # type: ignore[call-overload]
        route: dict[str, Any] = {"receiver": name, "matchers": [_severity_matcher(sevs)], "continue": True}
        if alerting.maintenance_windows:
            route["routes"] = _mute_routes(name, alerting.maintenance_windows)
        out.append(route)
    if out:
        out[-1]["continue"] = False
    # Alerts of no routed severity reach the default receiver, muted in the same windows.
    out.extend(_mute_routes(alerting.default_receiver, alerting.maintenance_windows))
    return out


def inhibit_rules() -> list[dict[str, Any]]:
    return [
        # A host down silences the service alerts on that host.
        {
            "source_matchers": ['alertname="HostDown"'],
            "target_matchers": ['alertname!="HostDown"'],
            "equal": ["host"],
        },
        # A critical alert silences the warning of the same alert on the same target.
        {
            "source_matchers": ['severity="critical"'],
            "target_matchers": ['severity="warning"'],
            "equal": ["alertname", "service", "instance", "gpu", "mountpoint"],
        },
        # An inference backend down is reported once, not also as a plain ServiceDown.
        {
            "source_matchers": ['alertname="InferenceBackendDown"'],
            "target_matchers": ['alertname="ServiceDown"'],
            "equal": ["service"],
        },
    ]


def time_intervals(windows: tuple[MaintenanceWindow, ...]) -> list[dict[str, Any]]:
    out = []
    for w in windows:
        spec: dict[str, Any] = {
            "times": [{"start_time": t.start, "end_time": t.end} for t in w.times],
            "location": w.location,
        }
        if w.weekdays:
            spec["weekdays"] = list(w.weekdays)
        out.append({"name": w.name, "time_intervals": [spec]})
    return out


def alertmanager_config(platform: Platform, secrets: Mapping[str, str]) -> dict[str, Any]:
    alerting = platform.alerting
    config: dict[str, Any] = {
        "global": {"resolve_timeout": alerting.resolve_timeout},
        "route": {
            "receiver": alerting.default_receiver,
            "group_by": ["alertname", "severity"],
            "group_wait": alerting.group_wait,
            "group_interval": alerting.group_interval,
            "repeat_interval": alerting.repeat_interval,
            "routes": routes(alerting),
        },
        "inhibit_rules": inhibit_rules(),
        "receivers": [receiver_config(platform, r, secrets) for r in alerting.receivers],
    }
    if alerting.maintenance_windows:
        config["time_intervals"] = time_intervals(alerting.maintenance_windows)
    return config
