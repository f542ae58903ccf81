"""Bench (printed, not asserted): fault → notification at the alert sink, for runbook.watch.

Stops one container of the live local stack, runs watch cycles every --interval seconds (the
real `invoke runbook.watch --once`), and prints the time from the stop to the alert arriving at
the sink, next to seed 000's 2 cycles x 300 s. Restores the container. Needs the stack up.

    python bench/watch_detection.py --service inference-code --interval 5
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from infra.spec import load_platform
from runbooks.probes import wait_healthy_sync
from runbooks.targets import target_for

ROOT = Path(__file__).resolve().parents[1]

INVOKE = str(Path(sys.executable).with_name("invoke"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stack", default="local")
    ap.add_argument("--service", default="inference-code")
    ap.add_argument("--interval", type=float, default=5.0)
    ap.add_argument("--max-cycles", type=int, default=6)
    args = ap.parse_args()
    platform = load_platform(args.stack)
    sink = platform.url(platform.service("alert-sink"))
    target = target_for(platform)
    svc = platform.service(args.service)
    env = {**os.environ, "INFEROPS_WATCH_STATE_DIR": tempfile.mkdtemp(prefix="watch-bench-")}
    httpx.delete(sink + "/notifications", timeout=5)
    target.stop(args.service)
    t0 = time.time()
    arrived = None
    try:
        for _ in range(args.max_cycles):
            started = time.monotonic()
            subprocess.run([INVOKE, "runbook.watch", "--once", "--stack", args.stack], cwd=ROOT, env=env,
                           capture_output=True, timeout=120, check=False)  # fmt: skip
            items = httpx.get(sink + "/received", params={"path": "/watch"}, timeout=5).json()
            alerts = [i for i in items if i["body"].get("kind") == "alert" and args.service in i["body"].get("key", "")]
            if alerts:
                arrived = alerts[0]["received_at"]
                break
            time.sleep(max(0.0, args.interval - (time.monotonic() - started)))
    finally:
        target.start(args.service)
        wait_healthy_sync(platform, svc, svc.health.ready_within_s, target)
    w = platform.watch
    print(f"interval {args.interval:g} s, alert_after {w.alert_after}, recover_after {w.recover_after}")
    if arrived is None:
        print(f"no alert within {args.max_cycles} cycles")
    else:
        print(f"detection: {arrived - t0:.1f} s from the stop to the alert at the sink")
    print(f"seed 000: {w.alert_after} x 300 s = {w.alert_after * 300} s at worst (+ up to one interval of phase)")


if __name__ == "__main__":
    main()
