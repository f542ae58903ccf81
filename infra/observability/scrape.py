"""Prometheus scrape config derived from the service table: every service with a metrics path."""

from __future__ import annotations

from typing import Any

from infra.spec.model import Platform


def scrape_configs(platform: Platform) -> list[dict[str, Any]]:
    jobs = []
    for svc in platform.enabled():
        if svc.metrics_path is None:
            continue
        jobs.append(
            {
                "job_name": svc.name,
                "metrics_path": svc.metrics_path,
                "static_configs": [
                    {
                        "targets": [f"{svc.name}:{svc.port}"],
                        "labels": {"service": svc.name, "role": svc.role.value},
                    }
                ],
            }
        )
    return jobs


def prometheus_config(platform: Platform, rule_files: list[str]) -> dict[str, Any]:
    alertmanagers = [f"{s.name}:{s.port}" for s in platform.enabled() if s.name == "alertmanager"]
    return {
        "global": {"scrape_interval": "15s", "evaluation_interval": "15s"},
        "rule_files": rule_files,
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": alertmanagers}]}]} if alertmanagers else {},
        "scrape_configs": scrape_configs(platform),
    }
