"""`invoke stack.up` / `stack.down` / `stack.status`: the live stack on a real Docker engine.

Registered in the `stack` collection by importing these tasks in `infra/cli/stack.py`.
"""

from __future__ import annotations

from invoke import Context, Exit, task

STACK = {"stack": "stack name (stacks/Pulumi.<stack>.yaml)"}


def _errors() -> tuple[type[Exception], ...]:
    from infra.live.compose import ComposeError
    from infra.live.engine import EngineMissing
    from infra.live.preflight import PreflightFailed
    from infra.spec import ConfigError

    return (ComposeError, EngineMissing, PreflightFailed, ConfigError)


@task(help=STACK)
def up(c: Context, stack: str = "local") -> None:
    """Bring a stack up healthy (starts dockerd on Debian if none answers) and print its health table."""
    from infra.live import bringup

    try:
        bringup.up(stack)
    except _errors() as err:
        raise Exit(str(err), code=2) from None


DOWN = {
    "volumes": "also remove the stack's named volumes (models, TSDB)",
    "keep_engine": "leave a dockerd that stack.up started running",
}


@task(help=STACK | DOWN)
def down(c: Context, stack: str = "local", volumes: bool = False, keep_engine: bool = False) -> None:
    """Take a stack down; stops the dockerd that `stack.up` started (and only that one)."""
    from infra.live import bringup

    try:
        bringup.down(stack, volumes=volumes, stop_engine=not keep_engine)
    except _errors() as err:
        raise Exit(str(err), code=2) from None


@task(help=STACK)
def status(c: Context, stack: str = "local") -> None:
    """Container state and health of every service of a stack."""
    from infra.live import bringup

    try:
        bringup.status(stack)
    except _errors() as err:
        raise Exit(str(err), code=2) from None
