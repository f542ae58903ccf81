"""The service table of `invoke stack.validate`."""

from __future__ import annotations

from rich.console import Console

from infra.fitted_table import fitted
from infra.spec.model import Platform

__all__ = ["service_table"]


def service_table(platform: Platform, console: Console | None = None) -> None:
    console = console or Console()
    rows = []
    for wave, names in enumerate(platform.start_order(), start=1):
        for name in names:
            svc = platform.services[name]
            rows.append(
                [
                    svc.name,
                    str(wave),
                    svc.role.value,
                    f"{platform.bind_address}:{svc.published_port}" if svc.publish else "-",
                    svc.health.path,
                    ", ".join(svc.depends_on) or "-",
                    str(svc.gpu.count) if svc.gpu.count else "-",
                    svc.image,
                ]
            )
    title = f"stack {platform.stack} ({platform.target}, {platform.docker_host or 'local engine'})"
    columns = ("service", "wave", "role", "port", "health", "depends on", "gpu", "image")
    fitted(console, title, columns, rows, notes="image", no_wrap=("service", "port"))
    disabled = [s.name for s in platform.services.values() if not s.enabled]
    if disabled:
        console.print(f"disabled in this stack: {', '.join(disabled)}")
