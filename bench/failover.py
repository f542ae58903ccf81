"""runbook.failover-test's own figures on the live stack (kill and pause), printed side by side.

Goals: 0 failed requests, < 100 ms added latency on the first request after a kill.
Usage: .venv/bin/python bench/failover.py [--stack local] [--rate 2] [--duration 60] [--fault-after 10]
       [--modes kill,pause]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(stack: str, mode: str, rate: float, duration: float, fault_after: float) -> dict:
    with tempfile.TemporaryDirectory() as runs:
        env = {**os.environ, "INFEROPS_RUNS_DIR": runs}
        invoke = str(Path(sys.executable).with_name("invoke"))
        proc = subprocess.run(
            [
                invoke,
                "runbook.failover-test",
                "--stack",
                stack,
                "--mode",
                mode,
                "--yes",
                "--json",
                "--rate",
                str(rate),
                "--duration",
                str(duration),
                "--fault-after",
                str(fault_after),
                "--max-failed",
                "1000000",
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
    if not proc.stdout.strip():
        raise SystemExit(f"failover-test {mode} gave no record ({proc.returncode}): {proc.stderr[-2000:]}")
    record = json.loads(proc.stdout)
    return {"exit_code": proc.returncode, **record["measurements"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stack", default="local", help="stack name")
    ap.add_argument("--rate", type=float, default=2, help="requests per second")
    ap.add_argument("--duration", type=float, default=60, help="seconds of load per mode")
    ap.add_argument("--modes", default="kill,pause", help="comma-separated fault modes")
    ap.add_argument("--fault-after", type=float, default=10, help="seconds of load before the fault")
    args = ap.parse_args()
    for mode in args.modes.split(","):
        m = run(args.stack, mode, args.rate, args.duration, args.fault_after)
        f = m.get("failover", {})
        first = f.get("first_after_fault", {})
        print(f"== {mode} (exit {m['exit_code']})")
        print(f"  requests {f['total']['requests']}, failed {f['total']['failed']} (goal 0)")
        print(
            f"  first request after the fault: {first.get('latency_ms')} ms, +{first.get('added_ms')} ms over p50 "
            f"before (goal < 100 ms), served by {first.get('backend')}"
        )
        for phase in ("before", "during", "after"):
            p = f[phase]
            print(f"  {phase:6s} p50 {p['p50_ms']} ms  p99 {p['p99_ms']} ms  n={p['requests']}  {p['by_backend']}")
        print(
            f"  secondary carried after {m.get('time_to_secondary_s')} s; back on primary "
            f"{m.get('time_back_on_primary_s')} s after it was healthy (allowed {m.get('back_on_primary_allowed_s')} s)"
        )


if __name__ == "__main__":
    main()
