"""`invoke stack.up` / `stack.down` / `stack.status`: the live stack, timed phase by phase.

`up` uses `pulumi up` when a Pulumi CLI is on PATH; otherwise (this machine) it deploys the
exported compose file with Docker Compose and says so: no Pulumi state is kept then.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console

from infra.docker import daemon
from infra.live import compose
from infra.live.preflight import preflight
from infra.spec import load_platform
from infra.spec.model import Platform
from infra.spec.stackconfig import ROOT


class Phases:
    """Times each phase and prints it as it ends; the summary is what CI logs show."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.rows: list[tuple[str, float]] = []

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        started = time.monotonic()
        ok = False
        try:
            with self.console.status(name):
                yield
            ok = True
        finally:
            secs = time.monotonic() - started
            self.rows.append((name, secs))
            mark = "[green]✓[/]" if ok else "[red]✗[/]"
            self.console.print(f"{mark} {name} [dim]{secs:.1f} s[/]")

    def summary(self, title: str) -> None:
        total = sum(s for _, s in self.rows)
        self.console.print(
            f"[bold]{title}[/]: " + ", ".join(f"{n} {s:.1f} s" for n, s in self.rows) + f"; total {total:.1f} s"
        )


def pulumi_cli() -> str | None:
    return shutil.which("pulumi")


def health_table(platform: Platform, client: object, console: Console) -> None:
    from infra.fitted_table import fitted

    rows = []
    for name, image, state, health, url in compose.container_rows(platform, client):
        colour = "green" if health == "healthy" or (health == "-" and state == "running") else "red"
        rows.append([name, state, f"[{colour}]{health}[/]", url, image])
    columns = ("service", "state", "health", "health url", "image")
    fitted(console, f"stack {platform.stack}", columns, rows, notes="image", no_wrap=("service",))


def up(stack: str, console: Console | None = None) -> Phases:
    console = console or Console()
    phases = Phases(console)
    platform = load_platform(stack)
    if platform.target != "compose":
        raise compose.ComposeError(f"stack {stack!r} targets {platform.target}; stack.up deploys compose stacks")
    with phases("docker engine"):
        daemon.ensure_engine(say=console.print)
        client = daemon.docker_client()
    with phases("preflight"):
        preflight(platform, client)
    if pulumi_cli():
        console.print(f"Pulumi CLI found ({pulumi_cli()}): running `pulumi up --stack {stack}`")
        with phases("pulumi up"):
            subprocess.run(["pulumi", "up", "--stack", stack, "--yes"], cwd=ROOT, check=True)
    else:
        console.print(
            "[yellow]No Pulumi CLI here:[/] deploying the exported compose file with `docker compose up -d --wait`. "
            "No Pulumi state is kept; `invoke stack.down` removes what this creates."
        )
        with phases("export compose"):
            compose_file = compose.export(platform)
        with phases("compose up --wait"):
            compose.up(platform, compose_file)
    health_table(platform, client, console)
    phases.summary(f"stack.up {stack}")
    return phases


def down(stack: str, volumes: bool = False, stop_engine: bool = True, console: Console | None = None) -> Phases:
    console = console or Console()
    phases = Phases(console)
    platform = load_platform(stack)
    if not daemon.engine_answers():
        console.print("no Docker engine answers: nothing to take down")
        return phases
    if pulumi_cli():
        with phases("pulumi destroy"):
            subprocess.run(["pulumi", "destroy", "--stack", stack, "--yes"], cwd=ROOT, check=True)
    else:
        with phases("compose down" + (" --volumes" if volumes else "")):
            compose.down(platform, volumes=volumes)
    if stop_engine:
        with phases("stop started dockerd"):
            daemon.stop_started_engine(say=console.print)
    phases.summary(f"stack.down {stack}")
    return phases


def status(stack: str, console: Console | None = None) -> None:
    console = console or Console()
    platform = load_platform(stack)
    health_table(platform, daemon.docker_client(), console)
