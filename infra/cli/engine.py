"""`invoke engine.*`: build the Pulumi engine tools from Go modules and run the real engine offline."""

from __future__ import annotations

from invoke import Context

from infra.cli.guard import task

STACK_HELP = {"stack": "stack name (stacks/Pulumi.<stack>.yaml)"}


@task
def build(c: Context) -> None:
    """Build the Pulumi CLI, the Python language host and the Kubernetes provider into .tools/bin (cached)."""
    from infra.engine.build import build_all

    build_all()


def _run(action: str, stack: str) -> None:
    from infra.engine.ops import EngineStack, run

    run(action, EngineStack(stack))


@task(help=STACK_HELP)
def preview(c: Context, stack: str) -> None:
    """Preview a stack with the real engine (local file backend, offline)."""
    _run("preview", stack)


@task(help=STACK_HELP)
def up(c: Context, stack: str) -> None:
    """Deploy a stack with the real engine (local file backend, offline)."""
    _run("up", stack)


@task(help=STACK_HELP)
def down(c: Context, stack: str) -> None:
    """Destroy a stack's resources with the real engine."""
    _run("destroy", stack)
