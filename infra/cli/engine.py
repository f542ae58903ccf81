"""`invoke engine.*`: build the Pulumi engine tools from Go modules and run the real engine offline."""

from __future__ import annotations

from invoke import Context, Exit, task

STACK_HELP = {"stack": "stack name (stacks/Pulumi.<stack>.yaml)"}


@task
def build(c: Context) -> None:
    """Build the Pulumi CLI, the Python language host and the Kubernetes provider into .tools/bin (cached)."""
    from infra.engine.build import GoMissing, build_all

    try:
        build_all()
    except GoMissing as err:
        raise Exit(str(err), code=2) from None
    except RuntimeError as err:
        raise Exit(f"engine build failed: {err}", code=1) from None


def _run(action: str, stack: str) -> None:
    from infra.engine.env import EngineUnavailable
    from infra.engine.ops import EngineStack, run
    from infra.spec import ConfigError

    try:
        run(action, EngineStack(stack))
    except (EngineUnavailable, ConfigError) as err:
        raise Exit(str(err), code=2) from None


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
