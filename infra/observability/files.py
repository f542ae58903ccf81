"""The monitoring services' config files (prometheus.yml, alertmanager.yml)."""

from __future__ import annotations

from infra.observability.scrape import prometheus_config
from infra.render.files import ConfigFile, to_yaml
from infra.spec.model import Platform


def observability_files(platform: Platform) -> list[ConfigFile]:
    prom = to_yaml(prometheus_config(platform, rule_files=[]))
    am = to_yaml(
        {
            "route": {"receiver": "null", "group_by": ["alertname", "severity"]},
            "receivers": [{"name": "null"}],
        }
    )
    return [
        ConfigFile("prometheus", "/etc/prometheus/prometheus.yml", lambda _s: prom),
        ConfigFile("alertmanager", "/etc/alertmanager/alertmanager.yml", lambda _s: am),
    ]
