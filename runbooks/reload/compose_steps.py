"""The five phases of seed 002 for a llama-server on the compose target, as framework steps.

Load (a stand-in with the new settings, off the network) → Warm-up (N real completions, each
under the latency budget) → Switch (the stand-in joins under the service's DNS aliases; the old
instance's drain gate closes) → Cleanup (the old instance drains and goes; stack config is
written; the service's own container is created with the new settings by the deployer of
record, warmed up, and takes the traffic back from the stand-in, which drains and goes) →
Complete (health, a completion through the gateway, the flags of the running process, and a
deploy that would change nothing).

Rollbacks are registered as each phase changes something, so a failure or Ctrl-C at any point
leaves exactly one healthy instance serving with the settings stack config holds.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rich.markup import escape

from runbooks.framework import Run, RunbookError, Step
from runbooks.framework.runner import Undo
from runbooks.reload import instances, netgate
from runbooks.reload.handover import Mover, gateway_dns_ttl_s
from runbooks.reload.placement import Placer
from runbooks.reload.settings import Change
from runbooks.targets import netns

if TYPE_CHECKING:
    from docker.models.containers import Container

STAND_IN_SUFFIX = "reload"
FINAL_WARMUPS = 2  # the service's own container has already been proven by the stand-in's warm-up


@dataclass
class Reload:
    """What the steps of one reload share (its Runbook's state)."""

    change: Change
    client: Any = None
    old: Container | None = None
    old_attrs: dict[str, Any] = field(default_factory=dict)
    stand_in: Container | None = None
    final: Container | None = None
    aliases: list[str] = field(default_factory=list)
    mover: Mover | None = None
    placer: Placer | None = None
    undos: list[Undo] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.change.service.name


def _state(run: Run) -> Reload:
    return run.state_as(Reload)


def _probe(r: Reload) -> list[str]:
    """The service's own in-container health test (what Docker runs), as an exec argv."""
    test = list(r.change.plans()[1].healthcheck.test)
    return test[1:] if test and test[0] in ("CMD", "CMD-SHELL") else test


def _load_timeout(r: Reload) -> float:
    return r.change.new.reload.load_timeout_s or r.change.new.service(r.name).health.ready_within_s


def preflight(run: Run) -> dict[str, Any]:
    """Engine, gate, the running instance, no leftover stand-in; prints the config diff."""
    from runbooks.targets.docker_target import DockerTarget

    r = _state(run)
    target = DockerTarget(r.change.old)
    target.ping()
    reason = netgate.unavailable_reason() if not r.change.old.docker_host else "the drain gate needs a local engine"
    if reason:
        raise RunbookError(reason)
    r.client = target.client
    old = target.container(r.name)
    old.reload()
    health = (old.attrs["State"].get("Health") or {}).get("Status", "none")
    if old.status != "running" or health not in ("healthy", "none"):
        raise RunbookError(f"{old.name} is {old.status} ({health}): a reload needs it serving (try runbook.restart)")
    leftovers = r.client.containers.list(all=True, filters={"label": f"{instances.RELOAD_LABEL}={old.name}"})
    if leftovers:
        names = ", ".join(c.name for c in leftovers)
        raise RunbookError(f"a stand-in from an earlier reload is still there ({names}); remove it first")
    r.old, r.old_attrs = old, dict(old.attrs)
    r.aliases = instances.aliases(old.attrs, r.change.old.network) or [r.name]
    r.mover = Mover(r.client, r.change.new, r.change.service, progress=run.progress.update)
    r.placer = Placer(r.client, r.old_attrs)
    diff = r.change.diff
    run.log(escape(diff.rstrip()) if diff else f"[dim]no stack config change: a zero-downtime restart of {r.name}[/]")
    return {
        "instance": old.name,
        "deployer": r.placer.kind,
        "gateway_dns_ttl_s": gateway_dns_ttl_s(r.change.new),
        "config_diff": diff,
    }


def load(run: Run) -> dict[str, Any]:
    """Phase 1: the stand-in with the new settings starts off the network and loads its model."""
    r = _state(run)
    run.set_phase("loading", 10)
    net = r.change.new.network
    command = r.change.plans()[1].command
    name = f"{r.name}-{STAND_IN_SUFFIX}"
    r.undos.append(
        run.on_rollback(
            f"remove the stand-in {name}",
            lambda: _remove_stand_in(r),
            durable=_durable(r, name),
            deadline_s=_deadline(r),
        )
    )
    r.stand_in = instances.clone(r.client, r.old_attrs, name=name, command=command, network=net, canonical=False)
    instances.detach(r.client, r.stand_in, net)
    r.stand_in.start()
    took = instances.wait_healthy(r.stand_in, _probe(r), _load_timeout(r), run.progress.update)
    run.measure("load_s", round(took, 3))
    run.set_phase("loading", 30)
    return {"stand_in": name, "healthy_after_s": round(took, 3), "command": list(command)}


def _durable(r: Reload, stand_in: str) -> tuple[str, dict[str, Any]]:
    """The guard's undo for any phase of this reload (runbooks/reload/rescue.py)."""
    from runbooks.reload.rescue import handover_data

    return "reload-handover", handover_data(r.change.old, r.name, stand_in, r.old_attrs)


def _deadline(r: Reload) -> float:
    """By when the whole reload must have ended, or the guard puts the old settings back: two
    loads, the warm-ups, two DNS settles and two drains, and a margin."""
    conf = r.change.new.reload
    warm = (conf.warmup_requests + FINAL_WARMUPS) * conf.warmup_latency_budget_s
    settle = gateway_dns_ttl_s(r.change.new) + conf.dns_settle_margin_s
    return round(2 * _load_timeout(r) + warm + 2 * settle + 2 * conf.drain_timeout_s + 300, 1)


def _remove_stand_in(r: Reload) -> None:
    if r.stand_in is not None:
        instances.remove(r.stand_in)


def _warm(run: Run, container: Container, count: int, start_pct: float, end_pct: float) -> list[dict[str, Any]]:
    r = _state(run)
    conf = r.change.new.reload
    svc = r.change.new.service(r.name)
    cmd = instances.completion_command(svc.health.tool, svc.port, conf.warmup_max_tokens, conf.warmup_latency_budget_s)
    out = []
    for i in range(count):
        run.set_phase("warming_up", round(start_pct + (end_pct - start_pct) * i / count, 1))
        run.progress.update(f"warm-up {i + 1}/{count} on {container.name}")
        w = instances.warm_up(container, cmd, conf.warmup_latency_budget_s)
        out.append({"latency_s": w.latency_s, "server_ms": w.server_ms})
    return out


def warm_up(run: Run) -> dict[str, Any]:
    """Phase 2: N real completions on the stand-in, each within the latency budget."""
    r = _state(run)
    assert r.stand_in is not None
    done = _warm(run, r.stand_in, r.change.new.reload.warmup_requests, 30, 80)
    run.measure("warmup", done)
    run.set_phase("ready", 80)
    return {"completions": done}


def switch(run: Run) -> dict[str, Any]:
    """Phase 3: the stand-in joins under the service's aliases; the old instance stops taking connections."""
    r = _state(run)
    assert r.stand_in is not None and r.old is not None and r.mover is not None
    run.set_phase("switching", 85)
    r.undos.append(run.on_rollback(f"move traffic back to {r.old.name}", lambda: _back_to_old(r)))
    address = r.mover.attach(r.stand_in, r.aliases)
    netgate.close(netns.container_pid(r.old), r.change.service.port)
    return {"stand_in_address": address, "aliases": r.aliases}


def _back_to_old(r: Reload) -> None:
    assert r.mover is not None and r.old is not None
    r.mover.reopen(r.old)
    if r.stand_in is not None and _exists(r, r.stand_in):
        r.stand_in.reload()
        if r.change.new.network in (r.stand_in.attrs["NetworkSettings"].get("Networks") or {}):
            r.mover.retire(r.stand_in)
        instances.remove(r.stand_in)


def _exists(r: Reload, container: Container) -> bool:
    import docker.errors

    try:
        container.reload()
    except docker.errors.NotFound:
        return False
    return True


def drain_old(run: Run) -> dict[str, Any]:
    """Phase 4a: the old instance finishes what it has, then goes."""
    r = _state(run)
    assert r.old is not None and r.mover is not None
    run.set_phase("cleanup", 90)
    figures = r.mover.retire(r.old)
    assert r.stand_in is not None
    # the new undo is on disk before the old ones are discharged: the guard is never without one
    restore = run.on_rollback(
        f"restore {r.name} with the old settings",
        lambda: _restore_old(r),
        durable=_durable(r, r.stand_in.name),
        deadline_s=_deadline(r),
    )
    for undo in r.undos:
        undo.discharge()  # the old instance is gone: undo from here means the old settings again
    r.undos = [restore]
    run.measure("old_drained_after_s", figures["drained_after_s"])
    return figures


def write_config(run: Run) -> dict[str, Any]:
    """Stack config gets the new values (diff and old/new in the run record; rollback restores it)."""
    r = _state(run)
    if not r.change.edit.changes:
        return {"changed": False}
    r.change.edit.apply(run)
    r.undos.append(run.undos[-1])
    return {"changed": True, "keys": [k for k, _, _ in r.change.edit.changes]}


def _place(run: Run | None, r: Reload, platform_new: bool) -> Container:
    """The service's own container with the new (or old) settings takes over from the stand-in."""
    assert r.placer is not None and r.mover is not None and r.stand_in is not None
    platform = r.change.new if platform_new else r.change.old
    marks: dict[str, float] = {}
    t0 = time.monotonic()

    def mark(name: str) -> None:
        marks[name] = round(time.monotonic() - t0, 3)

    final, names = r.placer.create(platform, r.name)
    r.final = final
    mark("created")
    final.start()
    instances.wait_healthy(final, _probe(r), _load_timeout(r), r.mover.progress)
    mark("healthy")
    if run is not None:
        run.measure("final_warmup", _warm(run, final, FINAL_WARMUPS, 95, 97))
    mark("warmed_up")
    r.mover.attach(final, names)
    mark("attached")
    r.mover.retire(r.stand_in)
    mark("stand_in_removed")
    if run is not None:
        run.measure("place_marks_s", marks)
        run.measure("handover", r.mover.figures)
    return final


def _undo_place(r: Reload) -> None:
    """Rollback of a failed placement: the stand-in serves alone again, the new container goes."""
    assert r.mover is not None
    if r.stand_in is None or not _exists(r, r.stand_in) or r.final is None or not _exists(r, r.final):
        return
    r.mover.reopen(r.stand_in)
    r.final.reload()
    if r.change.new.network in (r.final.attrs["NetworkSettings"].get("Networks") or {}):
        r.mover.retire(r.final)
    instances.remove(r.final)
    r.final = None


def _restore_old(r: Reload) -> None:
    """Rollback once the old instance is gone: the old settings come back under the service's name."""
    if r.stand_in is None or not _exists(r, r.stand_in):
        return
    _place(None, r, platform_new=False)


def place(run: Run) -> dict[str, Any]:
    """Phase 4b: the deployer of record creates the service's container; it takes over from the stand-in."""
    r = _state(run)
    run.set_phase("cleanup", 93)
    r.undos.append(run.on_rollback(f"remove the new {r.name} if the stand-in still serves", lambda: _undo_place(r)))
    t0 = time.monotonic()
    final = _place(run, r, platform_new=True)
    for undo in run.undos:
        if not undo.always:
            undo.discharge()  # the reload is done: nothing left to take back
    run.measure("placed_after_s", round(time.monotonic() - t0, 3))
    return {"container": final.name, "deployer": r.placer.kind if r.placer else None}


def verify(run: Run) -> dict[str, Any]:
    """Phase 5: health, a completion through the gateway, the running flags, a no-op deploy."""
    r = _state(run)
    assert r.final is not None and r.placer is not None
    platform, svc = r.change.new, r.change.new.service(r.name)
    from runbooks.probes import wait_healthy

    asyncio.run(wait_healthy(platform, svc, svc.health.ready_within_s))
    args = instances.process_args(r.final)
    want = list(r.change.plans()[1].command)
    if args[-len(want) :] != want:
        raise RunbookError(f"{r.final.name} runs {args}, not the planned flags {want}")
    served = _gateway_check(platform, r.name)
    drift = r.placer.deploy_would_change(platform)
    if drift:
        raise RunbookError(f"a deploy would still change containers: {'; '.join(drift)}")
    run.set_phase("completed", 100)
    return {"process_args": args, "gateway_served_by": served, "deploy_would_change": drift}


def _gateway_check(platform: Any, service: str) -> str | None:
    """One completion through the gateway for a group whose primary is `service`; the backend that served."""
    import httpx

    from infra.render.gateway import backend_of
    from infra.spec.model import Role
    from runbooks.probes import gateway_headers

    groups = [g for g, b in platform.gateway.routes.items() if b and b[0] == service]
    gws = platform.by_role(Role.GATEWAY)
    if not groups or not gws:
        return None
    body = {"model": groups[0], "messages": [{"role": "user", "content": "Reply with one word: ok"}], "max_tokens": 8}
    resp = httpx.post(
        platform.url(gws[0], "/v1/chat/completions"),
        json=body,
        headers=gateway_headers(platform.stack),
        timeout=platform.tuning.LLM_REQUEST_TIMEOUT,
    )
    if resp.status_code != 200:
        raise RunbookError(f"the gateway answered {resp.status_code} for {groups[0]!r}: {resp.text[:200]}")
    try:
        backend = backend_of(platform, resp.headers.get("x-litellm-model-id", ""))
    except KeyError as err:
        raise RunbookError(f"the gateway's answer names no known deployment: {err}") from None
    if backend != service:
        raise RunbookError(f"the gateway served {groups[0]!r} from {backend}, not {service}")
    return backend


def steps(name: str, warmups: int) -> tuple[Step, ...]:
    return (
        Step("preflight", preflight, probe=True, summary=f"{name} serving; drain gate usable; config diff"),
        Step(
            "load",
            load,
            destructive=True,
            summary=f"start {name}-{STAND_IN_SUFFIX} with the new settings off the network; wait for its health",
        ),
        Step("warm-up", warm_up, summary=f"{warmups} completions on the stand-in, each within the latency budget"),
        Step("switch", switch, summary="stand-in joins under the service's DNS aliases; old instance's gate closes"),
        Step("drain old", drain_old, summary="wait until the old instance has no open connection; remove it"),
        Step("write stack config", write_config, summary="the new values into stacks/Pulumi.<stack>.yaml"),
        Step("place", place, summary=f"the deployer creates {name}; warm-up; it takes over; the stand-in drains"),
        Step("verify", verify, summary="health, a completion through the gateway, process flags, no-op deploy"),
    )
