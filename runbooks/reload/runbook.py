"""The reload runbook: the prepared change, its steps per target and its plan."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from infra.spec.model import Platform
from runbooks.framework import Options, Runbook

SEED = "seed 002 graceful reload (Load → Warm-up → Switch → Cleanup → Complete) and `docker compose restart`"


def build(platform: Platform, options: Options) -> Runbook:
    from runbooks.reload.settings import prepare

    change = prepare(platform, options.service, options.extra.get("set"), options.extra.get("model"))
    return runbook_for(change)


def runbook_for(change: object, apps: object = None) -> Runbook:
    """The reload runbook of a prepared Change (also used by runbook.gpu-layers)."""
    from runbooks.reload import compose_steps, k8s_steps
    from runbooks.reload.settings import Change

    assert isinstance(change, Change)
    name = change.service.name
    what = ", ".join(f"{k}: {o!r} → {n!r}" for k, o, n in change.edit.changes) or "same settings"
    if change.old.target == "eks":
        state: Callable[[], object] = k8s_steps.KubeReload
        steps = k8s_steps.steps(change, apps)
    else:
        steps = compose_steps.steps(name, change.new.reload.warmup_requests)
        state = partial(compose_steps.Reload, change)
    title = f"reload {name} without downtime ({what})"
    return Runbook(name="reload", title=title, steps=steps, seed=SEED, state=state)
