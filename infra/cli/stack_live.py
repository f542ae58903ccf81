"""`invoke stack.up` / `stack.down` / `stack.status` / `stack.preview`.

Compose stacks run on a real Docker engine (the compose export); EKS stacks run on the Pulumi
engine built here (`invoke engine.build`), the only provider that exists on these machines.
Registered in the `stack` collection by importing these tasks in `infra/cli/stack.py`.
"""

from __future__ import annotations

from invoke import Context

from infra.cli.guard import task

STACK = {"stack": "stack name (stacks/Pulumi.<stack>.yaml)"}


def _on_engine(stack: str) -> bool:
    """EKS stacks go through the Pulumi engine; compose stacks through Docker Compose."""
    from infra.engine.ops import target_of

    return target_of(stack) == "eks"


def _engine(action: str, stack: str) -> None:
    from infra.engine.ops import EngineStack, run

    run(action, EngineStack(stack))


@task(help=STACK)
def up(c: Context, stack: str = "local") -> None:
    """Bring a stack up: compose stacks healthy on Docker (with their health table), EKS stacks with the engine."""
    from infra.live import bringup

    _engine("up", stack) if _on_engine(stack) else bringup.up(stack)


DOWN = {
    "volumes": "also remove the stack's named volumes (models, TSDB)",
    "keep_engine": "leave a dockerd that stack.up started running",
}


@task(help=STACK | DOWN)
def down(c: Context, stack: str = "local", volumes: bool = False, keep_engine: bool = False) -> None:
    """Take a stack down; stops the dockerd that `stack.up` started (and only that one)."""
    from infra.live import bringup

    if _on_engine(stack):
        _engine("destroy", stack)
    else:
        bringup.down(stack, volumes=volumes, stop_engine=not keep_engine)


@task(help=STACK)
def status(c: Context, stack: str = "local") -> None:
    """Container state and health of every service of a stack."""
    from infra.live import bringup

    bringup.status(stack)


@task(help=STACK)
def preview(c: Context, stack: str = "eks-prod") -> None:
    """Preview a stack with the Pulumi engine built here; says so for stacks whose provider cannot run here."""
    _engine("preview", stack)
