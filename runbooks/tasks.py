"""`invoke runbook.<name>`: one namespace for every runbook's task, and the framework's own two.

Each runbook is a package `runbooks/<name>/` with `runbook.py` (its `build`) and `tasks.py` (its
invoke task, heavy imports inside the body so `invoke --list` stays fast); `RUNBOOK_TASKS` lists
them, and `tasks.py` at the root adds the namespace. `recover` and `abort` act on runs, not on a
stack's services, so they live here.

Exit codes: 0 = worked, 1 = failed and rolled back (or refused, or bad input), 2 = a rollback
failed and a human must look, 3 = something needed is missing. Every run writes a JSON record.
"""

from __future__ import annotations

from types import ModuleType

from invoke import Collection, Context

from infra.cli.guard import task
from runbooks.daily_check import tasks as daily
from runbooks.eks import tasks as eks
from runbooks.failover import tasks as failover
from runbooks.gpu_layers import tasks as gpu_layers
from runbooks.health import tasks as health
from runbooks.qdrant import tasks as qdrant
from runbooks.reload import tasks as reload
from runbooks.restart import tasks as restart
from runbooks.watch import tasks as watch
from runbooks.weekly_check import tasks as weekly

RUNBOOK_TASKS: tuple[ModuleType, ...] = (
    health, restart, failover, qdrant, reload, gpu_layers, daily, weekly, watch, eks,
)  # fmt: skip


@task(
    help={
        "stack": "only runs on this stack (default: every stack)",
        "yes": "run the undos shown (without it: list them and refuse)",
        "dry-run": "list the stranded runs and their undos, change nothing",
        "json": "print the report as JSON on stdout",
    }
)
def recover(c: Context, stack: str | None = None, yes: bool = False, dry_run: bool = False, json: bool = False) -> None:
    """Finish the rollback of runs whose runner and guard died (a host reboot): run their pending undos."""
    from runbooks.framework.display import Display
    from runbooks.framework.recover import recover as do_recover

    code, report = do_recover(stack, yes, dry_run, Display(quiet=json))
    _exit(code, report, json)


@task(
    help={
        "stack": "stack name (default: local)",
        "reason": "why (kept in the run record)",
        "wait": "seconds to wait for the runs to finish rolling back (default 300)",
        "json": "print the report as JSON on stdout",
    }
)
def abort(c: Context, stack: str = "local", reason: str = "", wait: float = 300.0, json: bool = False) -> None:
    """Kill switch: every run in progress on the stack halts and rolls back within one probe interval."""
    from infra.errors import BadInput
    from runbooks.framework.display import Display
    from runbooks.framework.recover import abort as do_abort

    if wait < 0:
        raise BadInput(f"--wait must be >= 0 seconds, got {wait:g}")
    code, report = do_abort(stack, reason, wait, Display(quiet=json))
    _exit(code, report, json)


def _exit(code: int, report: dict, as_json: bool) -> None:
    import json as jsonlib
    import sys

    from invoke.exceptions import Exit

    if as_json:
        sys.stdout.write(jsonlib.dumps(report, indent=2) + "\n")
    if code:
        raise Exit(code=code)


def collection() -> Collection:
    """The `runbook` namespace: every runbook's tasks, then recover and abort."""
    ns = Collection("runbook")
    for module in RUNBOOK_TASKS:
        for t in Collection.from_module(module).tasks.values():
            ns.add_task(t)
    ns.add_task(recover)
    ns.add_task(abort)
    return ns
