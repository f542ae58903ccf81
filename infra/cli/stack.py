"""`invoke stack.*`: export, bring up, tear down and render stacks."""

from __future__ import annotations

from invoke import Context

from infra.cli.guard import task

# The live-stack tasks (up, down, status) belong to this collection too.
from infra.cli.stack_live import down, preview, status, up  # noqa: F401


@task(help={"stack": "stack name (stacks/Pulumi.<stack>.yaml)", "out": "directory to write into"})
def export_compose(c: Context, stack: str = "local", out: str = "build/compose") -> None:
    """Write a Docker Compose v2 file and every config file it mounts, from the service table."""
    from infra.targets.compose_export import export_cli

    export_cli(stack, out)


@task(help={"stack": "stack name (stacks/Pulumi.<stack>.yaml)"})
def validate(c: Context, stack: str = "local") -> None:
    """Validate a stack's config and print its service table and start order."""
    from infra.cli.tables import service_table
    from infra.observability.rules import check_rule_for
    from infra.spec import load_platform

    platform = load_platform(stack)
    check_rule_for(platform)
    service_table(platform)


@task(
    help={
        "stack": "an EKS stack (stacks/Pulumi.<stack>.yaml, target: eks)",
        "out": "directory to write into",
        "engine": "use the Pulumi engine built here (render_yaml_to_directory); default: when it is built",
    }
)
def render(c: Context, stack: str = "eks-prod", out: str = "build/k8s", engine: bool | None = None) -> None:
    """Write every Kubernetes object the EKS program would deploy, one YAML file each (offline)."""
    import os
    from pathlib import Path

    from infra.engine.env import EngineUnavailable, check_passphrase, cli_path

    if engine is None:
        try:
            cli_path()
            check_passphrase(os.environ)
            engine = True
        except EngineUnavailable:
            engine = False
    if engine:
        from infra.engine.ops import ensure_tools
        from infra.engine.render import render_with_engine

        check_passphrase(os.environ)
        ensure_tools()
        paths = list(render_with_engine(stack, Path(out)).values())
        how = "the Pulumi engine (render_yaml_to_directory)"
    else:
        from infra.targets.k8s.render import render_stack

        paths = render_stack(stack, out)
        how = "the program under Pulumi mocks (the engine needs `invoke engine.build` and a passphrase)"
    print(f"{len(paths)} objects written to {out} by {how}")
