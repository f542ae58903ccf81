"""`invoke runbook.daily-check` (imported into runbooks/tasks.py). Heavy imports stay in the body."""

from __future__ import annotations

from invoke import Context

from infra.cli.guard import task
from runbooks.help import COMMON


@task(
    name="daily-check",
    help={
        **COMMON,
        "service": "check this service only (containers, health, error logs, disk of its mounts)",
        "yes": "accepted for symmetry; the daily check changes nothing",
        "dry-run": "print the plan and run the checks (all of them only read)",
        "strict": "also exit 1 when a line is 'warn' (default: only 'fail' lines fail the run)",
        "since-h": "hours of logs to scan for errors (default: inferops:dailyCheck.log_window_h, 24)",
        "prometheus-url": "Prometheus to ask for DCGM, node-exporter, SLO and cost metrics "
        "(default: inferops:dailyCheck.prometheus_url, else the stack's published prometheus)",
    },
)
def daily_check(
    c: Context,
    stack: str = "local",
    service: str | None = None,
    dry_run: bool = False,
    yes: bool = False,
    json: bool = False,
    strict: bool = False,
    since_h: float | None = None,
    prometheus_url: str | None = None,
) -> None:
    """Seed 004's daily checklist and seed 003's daily checks: one table, a verdict per line."""
    from runbooks.cli import launch, options
    from runbooks.daily_check.runbook import build

    launch(
        build,
        options(stack, service, dry_run, yes, json, strict=strict, since_h=since_h, prometheus_url=prometheus_url),
    )
