"""invoke task `runbook.health`."""

from __future__ import annotations

from invoke import Context

from infra.cli.guard import task
from runbooks.help import ACTING as COMMON


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
    from runbooks.health.runbook import build

    launch(build, options(stack, service, dry_run, yes, json, strict=strict))
