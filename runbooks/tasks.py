"""`invoke runbook.<name>`: the incident runbooks. Heavy imports live inside the task bodies,
so `invoke --list` stays fast.

Exit codes: 0 = worked, 1 = failed and rolled back (or refused, or bad input), 2 = a rollback
failed and a human must look. Every run writes a JSON record under runs/.
"""

from __future__ import annotations

from invoke import Context

from infra.cli.guard import task
from runbooks import help as help_texts

COMMON = {
    **help_texts.COMMON,
    "service": "act on this service only (a name from the stack's service table)",
    "dry-run": help_texts.DRY_RUN,
    "yes": "allow destructive steps (stop, kill, pause) without asking",
}


@task(help={**COMMON, "strict": "also fail when a monitoring service (prometheus, alertmanager, …) is down"})
def health(
    c: Context,
    stack: str = "local",
    service: str | None = None,
    dry_run: bool = False,
    yes: bool = False,
    json: bool = False,
    strict: bool = False,
) -> None:
    """Check every service's health, inference load, gateway and Prometheus views in parallel."""
    from runbooks.cli import launch, options

    launch("health", options(stack, service, dry_run, yes, json, strict=strict))


@task(
    help={
        **COMMON,
        "service": "restart this service and its dependents (default: the whole stack)",
        "no-dependents": "with --service: restart only that service, not the services depending on it",
        "timeout": "seconds each service may take to become healthy (default: from its health check config)",
    }
)
def restart(
    c: Context,
    stack: str = "local",
    service: str | None = None,
    dry_run: bool = False,
    yes: bool = False,
    json: bool = False,
    no_dependents: bool = False,
    timeout: float | None = None,
) -> None:
    """Restart the stack or one service and its dependents in dependency order, waiting on health."""
    from runbooks.cli import launch, options

    launch("restart", options(stack, service, dry_run, yes, json, dependents=not no_dependents, timeout=timeout))


@task(
    name="failover-test",
    help={
        **COMMON,
        "service": "the primary to fault (default: the primary of --group)",
        "group": "gateway model group to test (default: the first route, e.g. chat)",
        "mode": "kill | stop | pause (a hung server) | reset | stall | slow-first-token | stream-cut | loading "
        "| flap | rate-limit (the last seven: a fault proxy in front of it, compose on this host)",
        "rate": "requests per second through the gateway (default 2)",
        "duration": "seconds of load in total (default 60)",
        "fault-after": "seconds of load before the fault (default 10)",
        "max-failed": "failed requests tolerated before the test fails (default 0)",
        "margin": "seconds beyond cooldown + health interval for traffic to return (default 10)",
        "max-tokens": "max_tokens of each test completion (default 8)",
        "hold": "seconds to keep the primary faulted once the secondary carries (a soak; default 0)",
        "stream-share": "share of requests sent with stream: true, each checked complete (default 0.25)",
    },
)
def failover_test(
    c: Context,
    stack: str = "local",
    service: str | None = None,
    dry_run: bool = False,
    yes: bool = False,
    json: bool = False,
    group: str | None = None,
    mode: str = "kill",
    rate: float = 2.0,
    duration: float = 60.0,
    fault_after: float = 10.0,
    max_failed: int = 0,
    margin: float = 10.0,
    max_tokens: int = 8,
    hold: float = 0.0,
    stream_share: float = 0.25,
) -> None:
    """Fault a gateway primary under load; measure failover, latency and the return to the primary."""
    from runbooks.cli import launch, options

    launch(
        "failover",
        options(
            stack,
            service,
            dry_run,
            yes,
            json,
            group=group,
            mode=mode,
            rate=rate,
            duration=duration,
            fault_after=fault_after,
            max_failed=max_failed,
            margin=margin,
            max_tokens=max_tokens,
            hold=hold,
            stream_share=stream_share,
        ),
    )


# Qdrant backup/restore (runbooks/qdrant/tasks.py): part of this collection.
from runbooks.qdrant.tasks import qdrant_backup, qdrant_restore  # noqa: E402

__all__ = ["qdrant_backup", "qdrant_restore"]

# Config-changing runbooks (runbooks/reload/tasks.py): reload, reload-status, gpu-layers.
from runbooks.reload.tasks import gpu_layers, reload, reload_status  # noqa: E402

__all__ += ["gpu_layers", "reload", "reload_status"]

# The daily checklist (runbooks/daily/tasks.py): daily-check.
from runbooks.daily.tasks import daily_check  # noqa: E402

__all__ += ["daily_check"]

# The monitoring agent (runbooks/watch/tasks.py): watch, watch-state.
from runbooks.watch.tasks import watch, watch_state, watch_units  # noqa: E402

__all__ += ["watch", "watch_state", "watch_units"]

# The weekly checklist (runbooks/weekly/tasks.py): weekly-check.
from runbooks.weekly.tasks import weekly_check  # noqa: E402

__all__ += ["weekly_check"]

# Seed 003's EKS troubleshooting (runbooks/eks/tasks.py): gpu-oom, model-loading, karpenter-diagnose, network.
from runbooks.eks.tasks import gpu_oom, karpenter_diagnose, model_loading, network  # noqa: E402

__all__ += ["gpu_oom", "karpenter_diagnose", "model_loading", "network"]


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


__all__ += ["abort", "recover"]
