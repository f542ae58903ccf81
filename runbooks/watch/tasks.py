"""`invoke runbook.watch` and `runbook.watch-state` (imported into runbooks/tasks.py). Heavy
imports stay in the bodies, so `invoke --list` stays fast."""

from __future__ import annotations

from invoke import Context

from infra.cli.guard import number, task
from runbooks.help import COMMON


@task(
    help={
        **COMMON,
        "once": "run one cycle and exit (for a systemd timer or cron)",
        "interval": "run a cycle every S seconds until stopped (default: inferops:watch.interval_s with --loop)",
        "loop": "run cycles every inferops:watch.interval_s seconds until stopped",
        "cycles": "with --interval/--loop: stop after this many cycles (0 = never)",
        "dry-run": "print the plan (receivers, thresholds, mute windows); check nothing, send nothing",
        "yes": "accepted for symmetry; the watch changes nothing on the platform",
    }
)
def watch(
    c: Context,
    stack: str = "local",
    once: bool = False,
    interval: float | None = None,
    loop: bool = False,
    cycles: int = 0,
    dry_run: bool = False,
    yes: bool = False,
    json: bool = False,
) -> None:
    """Seed 000's monitoring agent: checks in parallel, debounce, alert on change, never a lost notice."""
    from infra.errors import BadInput
    from runbooks.cli import launch, options
    from runbooks.watch.runbook import build as build_runbook

    interval = number("interval", interval)  # invoke hands an untyped (None-default) option over as text
    if interval is not None and interval <= 0:
        raise BadInput("--interval: give seconds between cycles, a number above 0 (e.g. 300)")
    if cycles < 0:
        raise BadInput(f"--cycles {cycles!r}: give a count of cycles, 0 for no limit")
    if once or dry_run or (interval is None and not loop):
        launch(build_runbook, options(stack, None, dry_run, yes, json, once=True))
        return
    from runbooks.watch.loop import run_loop

    run_loop(stack, interval, cycles, json)


@task(name="watch-state", help=COMMON)
def watch_state(c: Context, stack: str = "local", json: bool = False) -> None:
    """The watch's current issues, counters, alerted/muted flags, latency baselines and outbox."""
    from runbooks.cli import launch, options
    from runbooks.watch.state_runbook import build as build_state_runbook

    launch(build_state_runbook, options(stack, None, False, False, json))


@task(
    name="watch-units",
    help={
        "stack": COMMON["stack"],
        "dest": "directory to write inferops-watch.service and inferops-watch.timer into",
        "user": "the user the cycle runs as (needs the docker group; default inferops)",
    },
)
def watch_units(c: Context, stack: str = "local", dest: str = "build/systemd", user: str = "inferops") -> None:
    """Export the systemd service + timer that run one watch cycle every interval on a GPU host."""
    import sys
    from pathlib import Path

    from infra.spec.stackconfig import ROOT, load_platform
    from runbooks.watch.units import write_units

    platform = load_platform(stack)
    venv = Path(sys.executable).parent.parent
    for path in write_units(platform, Path(dest).resolve(), ROOT, venv, user):
        print(path)
