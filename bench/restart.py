"""Ordered restart (runbook.restart) vs seed 004 scenario 4 (stop all, start all, sleep 60, check).

Both on the live stack in one run. The seed's procedure is replayed through the same target
(stop every container, start every container, sleep 60 s, then one health sweep). Prints both
times, the critical path of health waits (each from the request to start a service until it is
healthy), and restart / critical path (goal <= 1.2); also the ratio with the engine's start calls
left out of the floor. Afterwards it waits, uncounted, until every service is healthy again, so
the stack is left as it was found even with a short `--seed-sleep`.
Usage: .venv/bin/python bench/restart.py [--stack local] [--seed-sleep 60]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from infra.spec import Platform, load_platform
from runbooks.health.runbook import sweep
from runbooks.restart.runbook import critical_path
from runbooks.targets import Target, target_for

ROOT = Path(__file__).resolve().parents[1]


def seed_procedure(stack: str, sleep_s: float) -> tuple[float, list[str]]:
    platform = load_platform(stack)
    target = target_for(platform)
    order = [n for wave in platform.start_order() for n in wave]
    t0 = time.monotonic()
    for name in reversed(order):
        target.stop(name)
    for name in order:  # compose `up -d` starts without waiting on health
        target.start(name)
    time.sleep(sleep_s)
    report = asyncio.run(sweep(platform, platform.enabled()))
    took = time.monotonic() - t0
    settle(platform, target)
    return took, report.down_needed + report.down_other


def settle(platform: Platform, target: Target) -> None:
    """Leave the stack serving as the engine sees it (a short --seed-sleep ends before that): the
    engine's health check runs inside the container, so it passing means the service answers too."""
    for svc in platform.enabled():
        deadline = time.monotonic() + svc.health.ready_within_s
        while not target.state(svc.name).serving:
            if time.monotonic() > deadline:
                raise SystemExit(f"{svc.name} not healthy {svc.health.ready_within_s:g} s after the seed's procedure")
            time.sleep(0.2)


def runbook_restart(stack: str) -> dict:
    with tempfile.TemporaryDirectory() as runs:
        env = {**os.environ, "INFEROPS_RUNS_DIR": runs}
        invoke = str(Path(sys.executable).with_name("invoke"))
        t0 = time.monotonic()
        proc = subprocess.run(
            [invoke, "runbook.restart", "--stack", stack, "--yes", "--json"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        wall = time.monotonic() - t0
    if proc.returncode:
        raise SystemExit(f"runbook.restart failed ({proc.returncode}): {proc.stderr[-2000:]}")
    record = json.loads(proc.stdout)
    return {"wall_s": wall, **record["measurements"], "steps": {s["name"]: s["duration_s"] for s in record["steps"]}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stack", default="local", help="stack name")
    ap.add_argument("--seed-sleep", type=float, default=60, help="the seed's fixed wait (sleep 60)")
    args = ap.parse_args()
    ours = runbook_restart(args.stack)
    seed_s, seed_down = seed_procedure(args.stack, args.seed_sleep)
    cp, start = ours["critical_path_s"], ours["start_total_s"]
    print(f"stack {args.stack}")
    print(
        f"seed procedure (stop all, start all, sleep {args.seed_sleep:g}, check): {seed_s:7.1f} s"
        f"  down after it: {', '.join(seed_down) or 'none'}"
    )
    print(f"runbook.restart total (stop + start + verify):              {ours['wall_s']:7.1f} s")
    print(
        f"  start phase {start:.2f} s, critical path of health waits {cp:.2f} s: ratio {start / cp:.2f} (goal <= 1.2)"
    )
    health_only = {n: w - ours["start_call_s"][n] for n, w in ours["time_to_healthy_s"].items()}
    cp_health = critical_path(load_platform(args.stack), list(health_only), health_only)
    print(
        f"  without the engine's start calls in the floor: critical path {cp_health:.2f} s, "
        f"ratio {start / cp_health:.2f} (the engine's own start time counted as runbook overhead)"
    )
    for name, waited in ours["time_to_healthy_s"].items():
        print(
            f"    {name:16s} healthy {waited:6.2f} s after the start request (engine start call"
            f" {ours['start_call_s'][name]:.2f} s; requested at +{ours['start_offsets_s'][name]:.2f} s)"
        )


if __name__ == "__main__":
    main()
