"""End to end on the live local stack: a stopped backend reaches the alert sink and resolves.

Assumes (see docs/observability.md): the local stack is up; the service table has an
`alert-sink` row, a webhook receiver that stores every Alertmanager notification and lists them
at GET /notifications (JSON list of webhook payloads); the local `alerting` section routes
critical alerts to `{kind: webhook, service: alert-sink}` with short timings and no mute window;
containers are named after their services.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import docker
import httpx
import pytest

from infra.spec import Platform, load_platform

pytestmark = pytest.mark.live

BACKEND = "inference-chat"
ALERT = "InferenceBackendDown"
SINK = "alert-sink"
UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


def seconds(duration: str) -> float:
    """A Prometheus duration ("1m30s") in seconds."""
    return sum(float(n) * UNITS[u] for n, u in re.findall(r"(\d+)(ms|s|m|h|d)", duration))


def notifications(platform: Platform) -> list[dict[str, Any]]:
    response = httpx.get(platform.url(platform.service(SINK), "/notifications"), timeout=5)
    response.raise_for_status()
    return response.json()


def matching(payloads: list[dict[str, Any]], status: str) -> list[dict[str, Any]]:
    return [
        alert
        for payload in payloads
        for alert in payload.get("alerts", [])
        if alert.get("status") == status
        and alert["labels"].get("alertname") == ALERT
        and alert["labels"].get("service") == BACKEND
    ]


def wait_for(what: str, check: Callable[[], list[dict[str, Any]]], within_s: float) -> dict[str, Any]:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found[-1]
        time.sleep(1)
    pytest.fail(f"no {what} notification within {within_s:.0f} s")


@pytest.fixture
def platform() -> Platform:
    platform = load_platform("local")
    if SINK not in platform.services or not platform.services[SINK].enabled:
        pytest.skip(f"the local stack has no {SINK} service")
    sinks = [r for r in platform.alerting.receivers if r.service == SINK]
    assert sinks, f"route the local stack's alerts to {{kind: webhook, service: {SINK}}}"
    return platform


def test_backend_down_alert_reaches_the_sink_and_resolves(platform: Platform) -> None:
    alerting = platform.alerting
    client = docker.DockerClient(base_url=platform.docker_host) if platform.docker_host else docker.from_env()
    container = client.containers.get(BACKEND)
    before = len(notifications(platform))
    fire_within = seconds(alerting.rule_for.get(ALERT, "5m")) + seconds(alerting.group_wait) + 30
    container.stop(timeout=5)
    try:
        alert = wait_for("firing", lambda: matching(notifications(platform)[before:], "firing"), fire_within)
        assert alert["labels"]["severity"] == "critical"
        assert alert["labels"]["service"] == BACKEND
        assert alert["annotations"]["runbook_url"].endswith(f"/docs/alerts/{ALERT}.md")
        assert alert["annotations"]["runbook_url"].startswith(alerting.runbook_base_url)
        fired = len(notifications(platform))
    finally:
        container.start()
    resolve_within = platform.service(BACKEND).health.ready_within_s + seconds(alerting.group_interval) + 30
    resolved = wait_for("resolved", lambda: matching(notifications(platform)[fired:], "resolved"), resolve_within)
    assert resolved["labels"]["severity"] == "critical"
