"""`invoke observability.*`: export the rules, routes, scrape config and dashboards of a stack."""

from __future__ import annotations

from invoke import Context

from infra.cli.guard import task


@task(help={"stack": "stack name (stacks/Pulumi.<stack>.yaml)", "out": "directory to write into"})
def export(c: Context, stack: str = "local", out: str = "build/observability") -> None:
    """Write prometheus.yml, rules/*.yml, alertmanager.yml and dashboards/*.json (secrets redacted)."""
    from pathlib import Path

    from infra.observability.export import export_files
    from infra.spec.stackconfig import load_platform

    result = export_files(load_platform(stack), Path(out))
    for path in result.written:
        print(path)
    for mounted in result.skipped:
        print(f"not exported (holds only a secret): {mounted}")


@task
def build_tools(c: Context) -> None:
    """Build prometheus, promtool, alertmanager and amtool at the stacks' pinned versions into .tools/bin (cached)."""
    from infra.monitoring.build import build_monitoring

    build_monitoring()
