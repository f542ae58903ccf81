"""The undo kinds a guard or `runbook.recover` can run without the runner: all idempotent.

Each acts through the Target of the platform the run acted on (runbooks/targets), or through
Alertmanager's API v2 for silences, so nothing here knows container names or ports.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from infra.spec.model import Platform
from runbooks.framework.durable import kind

__all__ = ["expire_silence", "release", "start", "unpause"]


def _wait(platform: Platform, name: str, wait_s: float | None, target: Any) -> None:
    from runbooks.probes import wait_healthy_sync

    svc = platform.service(name)
    wait_healthy_sync(platform, svc, wait_s or svc.health.ready_within_s, target)


@kind("start")
def start(platform: Platform, data: dict[str, Any]) -> None:
    """Start (or unpause) each service in order, each healthy before the next (dependency order)."""
    from runbooks.targets import target_for

    target = target_for(platform)
    for name in data["services"]:
        target.start(name)
        if data.get("wait", True):
            _wait(platform, name, data.get("wait_s"), target)


@kind("unpause")
def unpause(platform: Platform, data: dict[str, Any]) -> None:
    from runbooks.targets import target_for

    target = target_for(platform)
    for name in data["services"]:
        target.unpause(name)
        target.start(name)  # a paused container that was also stopped meanwhile
        if data.get("wait", True):
            _wait(platform, name, data.get("wait_s"), target)


@kind("release")
def release(platform: Platform, data: dict[str, Any]) -> None:
    """Undo a Target.hold (Qdrant's writer during a restore)."""
    from runbooks.targets import target_for

    target_for(platform).release(data["service"])


@kind("expire-silence")
def expire_silence(platform: Platform, data: dict[str, Any]) -> None:
    """Expire a drill's silence, first waiting (bounded) until the alerts it covers are no longer
    active: expiring it while they still fire would page for the drill right after it."""
    from runbooks.framework.silence import active_alerts, expire

    deadline = time.monotonic() + float(data.get("clear_within_s", 0))
    while time.monotonic() < deadline:
        try:
            if not active_alerts(data["url"], data["matchers"]):
                break
        except httpx.HTTPError:
            break
        time.sleep(1.0)
    expire(data["url"], data["id"])
