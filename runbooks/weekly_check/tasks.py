"""`invoke runbook.weekly-check` (imported into runbooks/tasks.py). Heavy imports stay in the body."""

from __future__ import annotations

from invoke import Context

from infra.cli.guard import task
from runbooks.help import COMMON

__all__ = ["weekly_check"]


@task(
    name="weekly-check",
    help={
        **COMMON,
        "service": "check this service only (logs, images, availability)",
        "yes": "accepted for symmetry; the weekly check changes nothing but writes a backup",
        "dry-run": "print the plan and run the read-only items (not the backup restore test)",
        "strict": "also exit 1 when a line is 'warn' (default: only 'fail' lines fail the run)",
        "window": "review window, a number and s/m/h/d/w (default: inferops:weeklyCheck.window, 7d)",
        "prometheus-url": "Prometheus to ask for the SLO, GPU and cost series "
        "(default: inferops:dailyCheck.prometheus_url, else the stack's published prometheus)",
    },
)
def weekly_check(
    c: Context,
    stack: str = "local",
    service: str | None = None,
    dry_run: bool = False,
    yes: bool = False,
    json: bool = False,
    strict: bool = False,
    window: str | None = None,
    prometheus_url: str | None = None,
) -> None:
    """Seed 004's weekly checklist and seed 003's weekly checks: SLOs, logs, images, backup restore test."""
    from runbooks.cli import launch, options
    from runbooks.weekly_check.runbook import build

    launch(build, options(stack, service, dry_run, yes, json, strict=strict, window=window,
                                   prometheus_url=prometheus_url))  # fmt: skip
