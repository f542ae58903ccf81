"""`invoke stack.*`: export, bring up, tear down and render stacks."""

from __future__ import annotations

from invoke import Context, Exit, task


@task(help={"stack": "stack name (stacks/Pulumi.<stack>.yaml)", "out": "directory to write into"})
def export_compose(c: Context, stack: str = "local", out: str = "build/compose") -> None:
    """Write a Docker Compose v2 file and every config file it mounts, from the service table."""
    from infra.spec import ConfigError
    from infra.targets.compose_export import export_cli

    try:
        export_cli(stack, out)
    except ConfigError as err:
        raise Exit(str(err), code=2) from None


@task(help={"stack": "stack name (stacks/Pulumi.<stack>.yaml)"})
def validate(c: Context, stack: str = "local") -> None:
    """Validate a stack's config and print its service table and start order."""
    from infra.cli.tables import service_table
    from infra.spec import ConfigError, load_platform

    try:
        platform = load_platform(stack)
    except ConfigError as err:
        raise Exit(str(err), code=2) from None
    service_table(platform)
