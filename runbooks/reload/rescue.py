"""The durable undo of a compose reload (`reload-handover`): what the guard or `runbook.recover`
does when the runner died mid-reload, from the record alone.

Whatever phase it died in, the end state is the reload's rollback: the service's own name serves
with the old settings, and the stand-in is gone (drained first when it took traffic).
- the old instance still runs (died in load, warm-up, switch or the drain): its drain gate opens
  again and the stand-in drains and goes;
- the old instance is gone (died after the drain, while stack config was written or the new
  container was placed): a container with the old settings is created as the deployer would,
  proven healthy, joins under the service's aliases, and only then does the stand-in drain.
Idempotent: a second run finds the old settings serving and nothing to remove.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from infra.render.containers import container_plan
from infra.spec.model import Platform
from runbooks.reload import instances
from runbooks.reload.handover import Mover
from runbooks.reload.placement import Placer

if TYPE_CHECKING:
    from docker import DockerClient
    from docker.models.containers import Container

__all__ = ["handover_data", "put_back"]


def handover_data(old: Platform, service: str, stand_in: str, old_attrs: dict[str, Any]) -> dict[str, Any]:
    """What `put_back` needs, written to the record before the stand-in exists."""
    return {
        "service": service,
        "stand_in": stand_in,
        "old_id": old_attrs.get("Id"),
        "attrs": old_attrs,
        "platform": old.model_dump(mode="json"),
    }


def _get(client: DockerClient, name_or_id: str | None) -> Container | None:
    import docker.errors

    if not name_or_id:
        return None
    try:
        return client.containers.get(name_or_id)
    except docker.errors.NotFound:
        return None


def _old_settings_serving(client: DockerClient, old: Platform, data: dict[str, Any], mover: Mover) -> None:
    """The service's name on a healthy container with the old settings, under its aliases."""
    name = data["service"]
    current = _get(client, name)
    if current is not None and current.id == data["old_id"] and current.status == "running":
        mover.reopen(current)  # the old instance itself: take new connections again
        return
    if current is not None:
        instances.remove(current)  # a new container the runner had created (new settings)
    final, names = Placer(client, data["attrs"]).create(old, name)
    final.start()
    test = list(container_plan(old, old.service(name)).healthcheck.test)
    probe = test[1:] if test and test[0] in ("CMD", "CMD-SHELL") else test
    instances.wait_healthy(final, probe, old.service(name).health.ready_within_s, lambda _: None)
    mover.attach(final, names)


def put_back(platform: Platform, data: dict[str, Any]) -> None:
    from runbooks.targets.docker_target import DockerTarget

    old = Platform.model_validate(data["platform"])
    client = DockerTarget(old).client
    mover = Mover(client, old, old.service(data["service"]))
    _old_settings_serving(client, old, data, mover)
    stand_in = _get(client, data["stand_in"])
    if stand_in is None:
        return
    stand_in.reload()
    if stand_in.status == "running" and old.network in (stand_in.attrs["NetworkSettings"].get("Networks") or {}):
        mover.retire(stand_in)  # it carried traffic: drain it, then remove it
    else:
        instances.remove(stand_in)
