"""The three runbooks on the live local stack (`invoke stack.up` first): `pytest -m live tests/live`.

Each test drives the real `invoke runbook.*` entry point and reads its JSON run record.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from runbooks.probes import health_url, wait_healthy_sync
from runbooks.targets import target_for
from tests.support.live import INVOKE, ROOT, wait_steady

pytestmark = pytest.mark.live


@pytest.fixture
def runs(tmp_path: Path) -> Path:
    return tmp_path / "runs"


def invoke(runs: Path, *args: str, timeout: float = 300) -> tuple[int, dict[str, Any], str]:
    env = {**os.environ, "INFEROPS_RUNS_DIR": str(runs)}
    proc = subprocess.run([INVOKE, *args, "--json"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    record = json.loads(proc.stdout) if proc.stdout.strip() else {}
    return proc.returncode, record, proc.stderr


@pytest.fixture
def restore_all(platform):
    yield
    target = target_for(platform)
    for svc in platform.enabled():
        target.start(svc.name)
        wait_healthy_sync(platform, svc, svc.health.ready_within_s, target)


def test_health_all_up(platform, runs: Path) -> None:
    code, record, err = invoke(runs, "runbook.health")
    assert code == 0, err
    services = {s["service"]: s for s in record["measurements"]["health"]["services"]}
    assert set(services) == {s.name for s in platform.enabled()}
    assert all(s["state"] == "up" for s in services.values())
    assert services["inference-chat"]["load"]["level"] in ("idle", "normal", "busy", "very busy")


def test_health_with_one_service_stopped_names_it(platform, runs: Path, restore_all) -> None:
    target_for(platform).stop("inference-code", timeout_s=5)
    code, record, _ = invoke(runs, "runbook.health")
    assert code == 1
    assert "inference-code" in record["error"]
    services = {s["service"]: s for s in record["measurements"]["health"]["services"]}
    assert services["inference-code"]["state"] == "down" and services["inference-chat"]["state"] == "up"
    assert services["inference-code"]["container"].startswith("exited")


def test_restart_one_service_and_its_dependents(platform, runs: Path) -> None:
    code, record, err = invoke(runs, "runbook.restart", "--service", "inference-chat", "--yes")
    assert code == 0, err
    waits = record["measurements"]["time_to_healthy_s"]
    assert set(waits) == {"inference-chat", *platform.dependents("inference-chat")}
    assert record["measurements"]["start_total_s"] <= 1.2 * record["measurements"]["critical_path_s"] + 1


@pytest.mark.parametrize("mode", ["kill", "pause"])
def test_failover(platform, runs: Path, mode: str, restore_all) -> None:
    wait_steady(runs.parent / "steady-runs")  # the restart test before it leaves the gateway warming up
    code, record, err = invoke(
        runs,
        "runbook.failover-test",
        "--mode",
        mode,
        "--yes",
        "--rate",
        "2",
        "--duration",
        "40",
        "--fault-after",
        "8",
        "--stream-share",  # a stream in flight when the primary dies cannot be rescued (LiteLLM #40404):
        "0",  # the proxy modes' tests (test_failover_modes_live.py) check streams
        timeout=600,
    )
    fig = record["measurements"]["failover"]
    print(json.dumps({k: fig[k] for k in ("before", "during", "after", "first_after_fault") if k in fig}, indent=2))
    assert code == 0, err
    assert fig["total"]["failed"] == 0
    assert fig["during"]["by_backend"].get("inference-code", 0) >= 3
    assert record["measurements"]["time_back_on_primary_s"] <= record["measurements"]["back_on_primary_allowed_s"]
    assert target_for(platform).state("inference-chat").running


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_failover_interrupted_restores_the_primary_and_rerun_succeeds(platform, runs: Path, sig, restore_all) -> None:
    env = {**os.environ, "INFEROPS_RUNS_DIR": str(runs)}
    wait_steady(runs.parent / "steady-runs")
    proc = subprocess.Popen(
        [INVOKE, "runbook.failover-test", "--mode", "kill", "--yes", "--duration", "60", "--fault-after", "3"],
        cwd=ROOT,
        env=env,
    )
    target = target_for(platform)
    deadline = time.monotonic() + 120
    while target.state("inference-chat").running:  # wait for the fault
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.2)
    proc.send_signal(sig)
    assert proc.wait(timeout=300) == 1
    assert target.state("inference-chat").running
    svc = platform.service("inference-chat")
    assert httpx.get(health_url(platform, svc), timeout=5).status_code == 200
    wait_steady(runs.parent / "steady-runs")  # as an operator reruns: once the gateway serves from the primary again
    code, _, err = invoke(
        runs, "runbook.failover-test", "--mode", "stop", "--yes", "--duration", "30", "--fault-after", "5", timeout=600
    )
    assert code == 0, err
