"""The reload runbook: the prepared change, its steps per target and its plan."""

from __future__ import annotations

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
        steps = k8s_steps.steps(change, apps)
    else:
        steps = compose_steps.steps(name, change.new.reload.warmup_requests)
        first = steps[0]

        def preflight(run: object) -> object:
            from runbooks.reload.compose_steps import Reload

            run.state["reload"] = Reload(change)  # type: ignore[attr-defined]
            return first.action(run)  # type: ignore[arg-type]

        steps = (first.__class__(first.name, preflight, first.summary, probe=True), *steps[1:])
    return Runbook(name="reload", title=f"reload {name} without downtime ({what})", steps=steps, seed=SEED)
