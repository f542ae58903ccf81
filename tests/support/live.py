"""What the live tests share: the stack under test and how to reach its tasks."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
INVOKE = str(Path(sys.executable).with_name("invoke"))
STACK = os.environ.get("INFEROPS_LIVE_STACK", "local")


def wait_steady(runs: Path, within_s: float = 90) -> None:
    """Until failover-test's own steady-state probe passes (its dry run): after a restart or a
    drill the gateway can keep the primary in cooldown, or out of its health-check routing, for
    a few seconds, and a drill started then refuses on its first step."""
    env = {**os.environ, "INFEROPS_RUNS_DIR": str(runs)}
    deadline = time.monotonic() + within_s
    while True:
        dry = subprocess.run([INVOKE, "runbook.failover-test", "--dry-run"], cwd=ROOT, env=env, capture_output=True,
                             text=True, timeout=120)  # fmt: skip
        if dry.returncode == 0:
            return
        assert time.monotonic() < deadline, f"steady state not back after {within_s:g} s: {dry.stderr[-500:]}"
        time.sleep(2)
