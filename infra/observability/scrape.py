"""Prometheus config derived from the service table: every enabled service with a metrics path.

Each target carries the labels the alert rules select on: `service` (the table's name), `role`
and `host` (the Docker host it runs on), so rules and inhibitions never list services.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from infra.spec.model import Platform, Role, Service

# LiteLLM's /metrics needs the master key since v1.85: Prometheus reads it from this file,
# so prometheus.yml itself holds no secret.
GATEWAY_KEY_FILE = "/etc/prometheus/secrets/gateway-master-key"
GATEWAY_KEY_SECRET = "gatewayMasterKey"
ALERTMANAGER = "alertmanager"


def host_label(platform: Platform) -> str:
    """The host every compose service runs on: the Docker host's name, or `localhost`."""
    if platform.docker_host:
        return urlparse(platform.docker_host).hostname or platform.docker_host
    return "localhost"


def scrape_job(platform: Platform, svc: Service) -> dict[str, Any]:
    job: dict[str, Any] = {
        "job_name": svc.name,
        "metrics_path": svc.metrics_path,
        "static_configs": [
            {
                "targets": [f"{svc.name}:{svc.port}"],
                "labels": {"service": svc.name, "role": svc.role.value, "host": host_label(platform)},
            }
        ],
    }
    if svc.role is Role.GATEWAY:
        job["authorization"] = {"type": "Bearer", "credentials_file": GATEWAY_KEY_FILE}
    return job


def scrape_configs(platform: Platform) -> list[dict[str, Any]]:
    return [scrape_job(platform, svc) for svc in platform.enabled() if svc.metrics_path is not None]


def scraped_services(platform: Platform) -> list[Service]:
    return [svc for svc in platform.enabled() if svc.metrics_path is not None]


def prometheus_config(platform: Platform, rule_files: list[str]) -> dict[str, Any]:
    alerting = platform.alerting
    managers = [f"{s.name}:{s.port}" for s in platform.enabled() if s.name == ALERTMANAGER]
    config: dict[str, Any] = {
        "global": {
            "scrape_interval": alerting.scrape_interval,
            "evaluation_interval": alerting.evaluation_interval,
            "external_labels": {"stack": platform.stack},
        },
        "rule_files": rule_files,
    }
    if managers:
        config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": managers}]}]}
    config["scrape_configs"] = scrape_configs(platform)
    return config
