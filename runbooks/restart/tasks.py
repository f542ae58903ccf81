"""invoke task `runbook.restart`."""

from __future__ import annotations

from invoke import Context

from infra.cli.guard import task
from runbooks.help import ACTING as COMMON


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
    from runbooks.restart.runbook import build

    launch(build, options(stack, service, dry_run, yes, json, dependents=not no_dependents, timeout=timeout))
