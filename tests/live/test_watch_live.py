"""runbook.watch on the live local stack: real containers, the real alert sink, real cycles.

Each test acts on one container through the stack's Target and restores it. The cycles are run
by `invoke runbook.watch --once` (the systemd timer's command), with the watch state in tmp.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from infra.spec import Platform
from runbooks.probes import wait_healthy_sync
from runbooks.targets import target_for
from tests.support.live import INVOKE, ROOT, STACK

pytestmark = pytest.mark.live
VICTIM = "inference-code"  # not the gateway's first primary: the rest of the stack keeps serving


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "INFEROPS_WATCH_STATE_DIR": str(tmp_path / "watch"),
        "INFEROPS_RUNS_DIR": str(tmp_path / "runs"),
    }


def _sink(platform: Platform) -> str:
    return platform.url(platform.service("alert-sink"))


def _notices(platform: Platform, key_part: str) -> list[dict]:
    items = httpx.get(_sink(platform) + "/notifications", params={"path": "/watch"}, timeout=5).json()
    return [i for i in items if key_part in i.get("key", "")]


def _cycle(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [INVOKE, "runbook.watch", "--once", "--stack", STACK], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip


def test_stop_alerts_once_after_two_cycles_and_recovers_once(platform: Platform, env: dict[str, str]) -> None:
    httpx.delete(_sink(platform) + "/notifications", timeout=5)
    target = target_for(platform)
    svc = platform.service(VICTIM)
    key = f"docker:localhost:{VICTIM}:exited"
    target.stop(VICTIM)
    try:
        t_fault = time.time()
        assert _cycle(env).returncode == 0 and _notices(platform, key) == []
        assert _cycle(env).returncode == 0
        alerts = [n for n in _notices(platform, key) if n["kind"] == "alert"]
        assert len(alerts) == 1
        assert _cycle(env).returncode == 0 and len(_notices(platform, key)) == 1
        print(f"\nbench: stop → alert at the sink {time.time() - t_fault:.1f} s with back-to-back cycles "
              f"(alert_after {platform.watch.alert_after}); seed 000: 2 x 300 s = 600 s")  # fmt: skip
    finally:
        target.start(VICTIM)
        wait_healthy_sync(platform, svc, svc.health.ready_within_s, target)
    _cycle(env)
    _cycle(env)
    kinds = [n["kind"] for n in _notices(platform, key)]
    assert kinds == ["alert", "recovery"]


def test_receiver_down_for_a_cycle_then_the_alert_arrives_once(platform: Platform, env: dict[str, str]) -> None:
    httpx.delete(_sink(platform) + "/notifications", timeout=5)
    target = target_for(platform)
    svc = platform.service(VICTIM)
    key = f"docker:localhost:{VICTIM}:exited"
    target.stop(VICTIM)
    try:
        _cycle(env)
        target.stop("alert-sink")
        try:
            assert _cycle(env).returncode == 1  # the alert is due; the sink is down: kept in the outbox
        finally:
            target.start("alert-sink")
            sink = platform.service("alert-sink")
            wait_healthy_sync(platform, sink, sink.health.ready_within_s, target)
        assert _cycle(env).returncode == 0
        assert [n["kind"] for n in _notices(platform, key)] == ["alert"]
    finally:
        target.start(VICTIM)
        wait_healthy_sync(platform, svc, svc.health.ready_within_s, target)


def test_corrupt_state_file_the_cycle_runs_and_warns(platform: Platform, env: dict[str, str]) -> None:
    state = Path(env["INFEROPS_WATCH_STATE_DIR"])
    state.mkdir(parents=True)
    (state / "state.json").write_text("{not json")
    done = _cycle(env)
    assert done.returncode == 0 and "unreadable" in done.stderr
    assert list(state.glob("state.json.corrupt-*"))


def test_a_paused_backend_is_caught_by_the_generate_probe(platform: Platform, env: dict[str, str]) -> None:
    target = target_for(platform)
    target.pause(VICTIM)
    try:
        assert target.state(VICTIM).status == "paused"
        _cycle(env)
        import json

        data = json.loads((Path(env["INFEROPS_WATCH_STATE_DIR"]) / "state.json").read_text())
        assert f"generate:localhost:{VICTIM}:stuck" in data["entries"]
    finally:
        target.unpause(VICTIM)
