"""The undo kinds a guard or `runbook.recover` can run without the runner: all idempotent.

Each acts through the Target of the platform the run acted on (runbooks/targets), or through
Alertmanager's API v2 for silences, so nothing here knows container names or ports.
"""

from __future__ import annotations

from typing import Any

from infra.spec.model import Platform
from runbooks.framework.durable import kind

__all__ = [
    "expire_silence",
    "recreate",
    "release",
    "reload_handover",
    "remove_fault_proxy",
    "restore_file",
    "roll_back",
    "start",
    "unpause",
]


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
    """Expire a drill's silence once the alerts it covers are no longer active (bounded)."""
    from runbooks.framework.silence import expire_when_clear

    expire_when_clear(data)


@kind("restore-file")
def restore_file(platform: Platform, data: dict[str, Any]) -> None:
    """Put a config file (a stack file a runbook edited) back as it was, atomically."""
    import os
    import tempfile
    from pathlib import Path

    path = Path(data["path"])
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w") as fh:
        fh.write(data["content"])
    os.replace(tmp, path)


@kind("recreate")
def recreate(platform: Platform, data: dict[str, Any]) -> None:
    """Replace whatever container the service has with one made from the old container's
    `docker inspect` and the old platform (gpu-layers' recreate), and start it."""
    import contextlib

    import docker.errors

    from runbooks.reload import instances
    from runbooks.reload.placement import Placer
    from runbooks.targets.docker_target import DockerTarget

    old = Platform.model_validate(data["platform"]) if data.get("platform") else platform
    name = data["service"]
    target = DockerTarget(old)
    with contextlib.suppress(docker.errors.NotFound):
        current = target.client.containers.get(name)
        if current.attrs.get("Id") == data["attrs"].get("Id") and current.status == "running":
            return  # the old container itself is still there and running: nothing to undo
        instances.remove(current)
    c, names = Placer(target.client, data["attrs"]).create(old, name)
    instances.attach(target.client, c, old.network, names)
    c.start()


@kind("remove-fault-proxy")
def remove_fault_proxy(platform: Platform, data: dict[str, Any]) -> None:
    """Take a failover drill's fault proxy out from in front of a service (redirect, then process)."""
    from runbooks.faults.inject import remove_durable

    remove_durable(data)


@kind("reload-handover")
def reload_handover(platform: Platform, data: dict[str, Any]) -> None:
    """A compose reload the runner could not finish: the old settings serve under the service's
    name again, and the stand-in drains and goes (runbooks/reload/rescue.py)."""
    from runbooks.reload.rescue import put_back

    put_back(platform, data)


@kind("roll-back")
def roll_back(platform: Platform, data: dict[str, Any]) -> None:
    """An EKS reload the runner could not finish: the Deployment gets its old pod template back
    (the one the program renders from the old settings) and the rollout is waited for.
    Idempotent: patching the template it already has starts no new rollout."""
    from runbooks.reload.k8s_steps import roll_back_to

    roll_back_to(platform, data)
