"""The monitoring services' config files: the one file set every target mounts.

Prometheus gets prometheus.yml and one rule file per group; Alertmanager its config (a secret
file when a receiver carries a credential); Grafana a datasource, a dashboard provider and the
dashboards. The compose targets mount these paths; the EKS target maps the same content onto
PrometheusRule / AlertmanagerConfig / ConfigMaps.
"""

from __future__ import annotations

from infra.configfile import ConfigFile, require_secret, to_yaml
from infra.observability.alertmanager import alertmanager_config
from infra.observability.dashboards import DATASOURCE_UID, dashboard_json, dashboards
from infra.observability.rules import RULES_DIR, rule_files
from infra.observability.scrape import GATEWAY_KEY_FILE, GATEWAY_KEY_SECRET, prometheus_config
from infra.spec.model import Platform, Role

PROMETHEUS_CONFIG = "/etc/prometheus/prometheus.yml"
ALERTMANAGER_CONFIG = "/etc/alertmanager/alertmanager.yml"
GRAFANA_PROVISIONING = "/etc/grafana/provisioning"
GRAFANA_DASHBOARDS = "/etc/grafana/dashboards"


def _static(service: str, path: str, text: str) -> ConfigFile:
    return ConfigFile(service=service, path=path, render=lambda _secrets: text)


def prometheus_files(platform: Platform) -> list[ConfigFile]:
    files = [_static("prometheus", PROMETHEUS_CONFIG, to_yaml(prometheus_config(platform, [f"{RULES_DIR}/*.yml"])))]
    files.extend(_static("prometheus", f"{RULES_DIR}/{name}", text) for name, text in rule_files(platform).items())
    if platform.by_role(Role.GATEWAY):
        files.append(
            ConfigFile(
                "prometheus",
                GATEWAY_KEY_FILE,
                lambda secrets: require_secret(secrets, GATEWAY_KEY_SECRET),
                secret_keys=(GATEWAY_KEY_SECRET,),
            )
        )
    return files


def alertmanager_file(platform: Platform) -> ConfigFile:
    return ConfigFile(
        "alertmanager",
        ALERTMANAGER_CONFIG,
        lambda secrets: to_yaml(alertmanager_config(platform, secrets)),
        secret_keys=platform.alerting.secret_keys,
    )


def grafana_files(platform: Platform) -> list[ConfigFile]:
    prometheus = platform.services.get("prometheus")
    url = platform.internal_url(prometheus) if prometheus is not None else "http://prometheus:9090"
    datasource = {
        "apiVersion": 1,
        "datasources": [
            {"name": "Prometheus", "type": "prometheus", "uid": DATASOURCE_UID, "access": "proxy", "url": url,
             "isDefault": True, "editable": False},
        ],
    }  # fmt: skip
    provider = {
        "apiVersion": 1,
        "providers": [
            {"name": "inferops", "folder": "inferops", "type": "file", "disableDeletion": True,
             "allowUiUpdates": False, "options": {"path": GRAFANA_DASHBOARDS}},
        ],
    }  # fmt: skip
    files = [
        _static("grafana", f"{GRAFANA_PROVISIONING}/datasources/inferops.yml", to_yaml(datasource)),
        _static("grafana", f"{GRAFANA_PROVISIONING}/dashboards/inferops.yml", to_yaml(provider)),
    ]
    files.extend(
        _static("grafana", f"{GRAFANA_DASHBOARDS}/{name}.json", dashboard_json(board))
        for name, board in dashboards(platform).items()
    )
    return files


def observability_files(platform: Platform) -> list[ConfigFile]:
    """Every monitoring config file (callers keep those of enabled services)."""
    return [*prometheus_files(platform), alertmanager_file(platform), *grafana_files(platform)]
