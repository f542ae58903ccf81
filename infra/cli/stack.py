"""`invoke stack.*`: export, bring up, tear down and render stacks."""

from __future__ import annotations

from invoke import Context, task


@task(help={"stack": "stack name (stacks/Pulumi.<stack>.yaml)", "out": "directory to write into"})
def export_compose(c: Context, stack: str = "local", out: str = "build/compose") -> None:
    """Write a Docker Compose v2 file and every config file it mounts, from the service table."""
    from infra.targets.compose_export import export_cli

    export_cli(stack, out)
