"""Rich tables of the spec, for operators."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from infra.spec.model import Platform


def service_table(platform: Platform, console: Console | None = None) -> None:
    console = console or Console()
    table = Table(title=f"stack {platform.stack} ({platform.target}, {platform.docker_host or 'local engine'})")
    for col in ("wave", "service", "role", "image", "port", "health", "depends on", "gpu"):
        table.add_column(col, no_wrap=col in ("service", "port"))
    for wave, names in enumerate(platform.start_order(), start=1):
        for name in names:
            svc = platform.services[name]
            table.add_row(
                str(wave),
                svc.name,
                svc.role.value,
                svc.image,
                f"{platform.bind_address}:{svc.published_port}" if svc.publish else "-",
                svc.health.path,
                ", ".join(svc.depends_on) or "-",
                str(svc.gpu.count) if svc.gpu.count else "-",
            )
    console.print(table)
    disabled = [s.name for s in platform.services.values() if not s.enabled]
    if disabled:
        console.print(f"disabled in this stack: {', '.join(disabled)}")
