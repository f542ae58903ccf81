"""False halts of the drill safeguards: N healthy failover drills on the live stack, none may halt.

A halt condition that trips on a healthy drill teaches operators to turn it off; this counts
them. Each drill cycles kill / stop / pause; it prints one line per drill (exit code, halt, probe
figures, the first failed requests) and the totals. A halt is *false* when the drill's own
traffic had no failed request (the gateway really failing requests is what halts are for).
Goal: 0 false halts in 20 drills.
Usage: .venv/bin/python bench/drill_halts.py [--stack local] [--count 20] [--duration 20] [--fault-after 4]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MODES = ("kill", "stop", "pause")


def drill(stack: str, mode: str, duration: float, fault_after: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as runs:
        invoke = str(Path(sys.executable).with_name("invoke"))
        args = ["runbook.failover-test", "--stack", stack, "--mode", mode, "--yes", "--json"]
        args += ["--duration", str(duration), "--fault-after", str(fault_after)]
        proc = subprocess.run(
            [invoke, *args], cwd=ROOT, env={**os.environ, "INFEROPS_RUNS_DIR": runs}, capture_output=True, text=True
        )
    if not proc.stdout.strip():
        raise SystemExit(f"failover-test {mode} gave no record ({proc.returncode}): {proc.stderr[-2000:]}")
    record = json.loads(proc.stdout)
    m = record["measurements"]
    return {
        "mode": mode,
        "exit_code": proc.returncode,
        "error": record.get("error"),
        "halt": m.get("halt"),
        "probes": m.get("halt_probes"),
        "failures": [
            f"{x['sent_s']:.1f}s {x['status']} {x['backend']} {(x.get('error') or '')[:100]}"
            for x in m.get("samples", [])
            if not x["ok"]
        ][:3],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stack", default="local", help="stack name")
    ap.add_argument("--count", type=int, default=20, help="number of drills")
    ap.add_argument("--duration", type=float, default=20, help="seconds of load per drill")
    ap.add_argument("--fault-after", type=float, default=4, help="seconds of load before the fault")
    a = ap.parse_args()
    results = []
    for i in range(a.count):
        r = drill(a.stack, MODES[i % len(MODES)], a.duration, a.fault_after)
        results.append(r)
        last = (r["probes"] or {}).get("last", {})
        line = {"drill": i + 1, "mode": r["mode"], "exit": r["exit_code"], "halt": r["halt"], **last}
        extra = {"error": r["error"], "failures": r["failures"]} if r["exit_code"] else {}
        print(json.dumps(line | extra), flush=True)
    halts = [r for r in results if r["halt"]]
    false_halts = [r for r in halts if not r["failures"]]
    probes = sum((r["probes"] or {}).get("probes", 0) for r in results)
    failed = [r for r in results if r["exit_code"] and not r["halt"]]
    totals = {
        "drills": len(results),
        "halts": len(halts),
        "false_halts": len(false_halts),
        "probe_rounds": probes,
        "failed_without_halt": len(failed),
    }
    print(json.dumps(totals))
    sys.exit(1 if false_halts else 0)


if __name__ == "__main__":
    main()
