"""The bench scripts run on the live stack, briefly, so that they keep working as the runbooks change.

These check that each bench runs its procedure and prints its figures; they assert no timing goal
(the figures vary with the machine: they are read from a full bench run, not from a test).
"""

from __future__ import annotations

import re
import subprocess
import sys

import httpx
import pytest

from infra.spec import Platform
from runbooks.probes import health_url
from tests.support.live import ROOT

pytestmark = pytest.mark.live


def bench(script: str, *args: str, timeout: float) -> str:
    proc = subprocess.run(
        [sys.executable, f"bench/{script}", "--stack", "local", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return proc.stdout


def figure(pattern: str, text: str) -> float:
    found = re.search(pattern, text)
    assert found, f"no {pattern!r} in:\n{text}"
    return float(found.group(1))


def test_health_sweep_bench_prints_the_ratios(platform: Platform) -> None:
    out = bench("health_sweep.py", "--rounds", "2", timeout=60)
    assert figure(r"runbook\.health sweep\s+([\d.]+) ms", out) > 0
    assert figure(r"([\d.]+) x slowest \(goal <= 1\.3\)", out) > 0
    assert figure(r"lean client: slowest single ([\d.]+) ms", out) > 0
    n = sum(1 for s in platform.enabled() if s.publish)
    assert f"{n} health endpoints" in out


def test_failover_bench_reports_a_kill_without_failed_requests(platform: Platform) -> None:
    # no streams: a stream in flight when the primary dies cannot be rescued (LiteLLM #40404)
    out = bench("failover.py", "--duration", "12", "--fault-after", "3", "--modes", "kill", "--stream-share", "0",
                timeout=120)  # fmt: skip
    assert "== kill (exit 0)" in out
    assert figure(r"failed (\d+) \(goal 0\)", out) == 0
    assert figure(r"first request after the fault: ([\d.]+) ms", out) > 0


def test_restart_bench_runs_the_seed_procedure_then_the_runbook(platform: Platform) -> None:
    out = bench("restart.py", "--seed-sleep", "1", timeout=300)
    assert figure(r"runbook\.restart total \(stop \+ start \+ verify\):\s+([\d.]+) s", out) > 0
    assert figure(r"critical path of health waits ([\d.]+) s", out) > 0
    healthy = re.findall(r"^\s+(\S+)\s+healthy\s+[\d.]+ s after the start request", out, re.M)
    assert sorted(healthy) == sorted(s.name for s in platform.enabled())
    # The seed's procedure runs last and, with a 1 s sleep, ends before the gateway is up: the
    # bench waits for it, so the tests after this one find the stack healthy.
    for svc in platform.enabled():
        assert httpx.get(health_url(platform, svc), timeout=5).status_code == svc.health.expect_status, svc.name
