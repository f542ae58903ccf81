"""Nothing left broken when the runner dies: real runner processes fault a real busybox container
(stop or pause) and are sent SIGHUP (terminal gone), SIGTERM or SIGKILL; the guard and
`runbook.recover` are the real ones (subprocesses, the invoke entry point)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from runbooks.framework.record import RUNS_ENV
from runbooks.probes import health_url
from runbooks.targets import target_for
from tests.unit.runbooks.dockerfix import docker_or_skip, fake_stack

ROOT = Path(__file__).resolve().parents[3]
INVOKE = str(Path(sys.executable).with_name("invoke"))
SERVICE = "inference-chat"
MODES = ["stop", "pause"]


@pytest.fixture
def stack(platform):
    client = docker_or_skip()
    with fake_stack(client, platform, [SERVICE]) as p:
        yield p


def _env(runs_dir: Path) -> dict[str, str]:
    return {**os.environ, RUNS_ENV: str(runs_dir), "PYTHONPATH": str(ROOT)}


def _start(tmp_path: Path, runs_dir: Path, platform, mode: str, deadline_s: float = 120, **kw: Any):
    (tmp_path / "platform.json").write_text(platform.model_dump_json())
    cmd = [sys.executable, "-m", "tests.unit.runbooks.durable_runbook", str(tmp_path), mode, str(deadline_s)]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=_env(runs_dir), **kw)
    deadline = time.monotonic() + 30
    while not (tmp_path / "ready").exists():
        assert proc.poll() is None, "runner died before its fault"
        assert time.monotonic() < deadline, "runner never faulted"
        time.sleep(0.02)
    return proc


def _record(runs_dir: Path) -> dict[str, Any]:
    (path,) = list(runs_dir.glob("*.json"))
    return json.loads(path.read_text())


def _wait(what: str, check: Any, within_s: float) -> float:
    t0 = time.monotonic()
    while not check():
        assert time.monotonic() - t0 < within_s, f"{what} not within {within_s} s"
        time.sleep(0.05)
    return time.monotonic() - t0


def _serving(platform) -> bool:
    """Running (not paused) and answering its health URL."""
    if not target_for(platform).state(SERVICE).running:
        return False
    try:
        return httpx.get(health_url(platform, platform.service(SERVICE)), timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("sig", [signal.SIGHUP, signal.SIGTERM])
def test_signal_rolls_back_even_with_the_terminal_gone(tmp_path, runs_dir, stack, mode, sig) -> None:
    proc = _start(tmp_path, runs_dir, stack, mode, stderr=subprocess.PIPE)
    assert target_for(stack).state(SERVICE).status == ("paused" if mode == "pause" else "exited")
    record = _record(runs_dir)
    (entry,) = record["pending_undos"]  # written before the fault
    assert entry["kind"] == ("unpause" if mode == "pause" else "start") and entry["status"] == "pending"
    proc.stderr.close()  # the terminal is gone: every console write now fails (EPIPE)
    proc.send_signal(sig)
    assert proc.wait(timeout=60) == 1
    assert _serving(stack)
    record = _record(runs_dir)
    assert record["status"] == "rolled-back" and sig.name in record["steps"][0]["error"]
    assert record["pending_undos"][0]["status"] == "done" and record["pending_undos"][0]["by"] == "runner"
    log = Path(record["measurements"]["log"]).read_text()
    assert "rollback: restore inference-chat" in log
    assert not list((runs_dir / ".guard").glob("*.platform.json")), "a finished run stays in the guard index"


@pytest.mark.parametrize("mode", MODES)
def test_sigkill_of_the_runner_the_guard_restores(tmp_path, runs_dir, stack, mode) -> None:
    proc = _start(tmp_path, runs_dir, stack, mode)
    proc.kill()
    t0 = time.monotonic()
    proc.wait(timeout=10)
    # The bounds only end a hang: the figure is printed (live drills and the bench report it).
    took = _wait("serving again", lambda: _serving(stack), 120)
    _wait("record closed", lambda: _record(runs_dir)["status"] != "running", 120)
    record = _record(runs_dir)
    print(f"SIGKILL -> {SERVICE} ({mode}) serving again after {took:.2f} s (guard), {time.monotonic() - t0:.2f} s")
    assert record["status"] == "rolled-back" and "runner pid" in record["error"]
    assert record["pending_undos"][0]["status"] == "done" and record["pending_undos"][0]["by"] == "guard"


def test_runner_and_guard_killed_recover_restores_once_and_blocks_new_runs(tmp_path, runs_dir, stack) -> None:
    proc = _start(tmp_path, runs_dir, stack, "pause")
    guard_pid = int(_record(runs_dir)["guard"]["pid"])
    os.kill(guard_pid, signal.SIGKILL)
    proc.kill()
    proc.wait(timeout=10)
    _wait("guard gone", lambda: not Path(f"/proc/{guard_pid}").exists() or _zombie(guard_pid), 10)
    assert target_for(stack).state(SERVICE).status == "paused"

    (tmp_path / "ready").unlink()
    again = subprocess.run(
        [sys.executable, "-m", "tests.unit.runbooks.durable_runbook", str(tmp_path), "stop", "60"],
        cwd=ROOT,
        env=_env(runs_dir),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert again.returncode == 1 and "run `invoke runbook.recover --stack" in " ".join(again.stderr.split())
    assert target_for(stack).state(SERVICE).status == "paused"  # the refused run did nothing

    listed = _invoke(runs_dir, "runbook.recover", "--dry-run")
    assert listed.returncode == 0 and "restore inference-chat [unpause" in listed.stderr
    unconfirmed = _invoke(runs_dir, "runbook.recover")
    assert unconfirmed.returncode == 1 and "--yes" in unconfirmed.stderr
    assert target_for(stack).state(SERVICE).status == "paused"  # listing and refusing change nothing

    first = _invoke(runs_dir, "runbook.recover", "--yes", "--json")
    assert first.returncode == 0, first.stderr
    assert len(json.loads(first.stdout)["recovered"]) == 1
    assert _serving(stack)
    second = _invoke(runs_dir, "runbook.recover", "--yes", "--json")
    assert second.returncode == 0 and json.loads(second.stdout) == {"stranded": [], "recovered": [], "failed": []}
    third = _invoke(runs_dir, "runbook.recover", "--yes")
    assert third.returncode == 0 and "nothing to recover" in third.stderr


def test_undo_deadline_passed_the_guard_restores_and_the_runner_halts(tmp_path, runs_dir, stack) -> None:
    proc = _start(tmp_path, runs_dir, stack, "stop", deadline_s=2)
    assert proc.wait(timeout=60) == 1
    assert _serving(stack)
    record = _record(runs_dir)
    assert "undo deadline passed" in record["steps"][0]["error"]
    assert record["pending_undos"][0]["status"] == "done"


def test_abort_stops_the_run_and_it_rolls_back(tmp_path, runs_dir, stack) -> None:
    proc = _start(tmp_path, runs_dir, stack, "pause")
    t0 = time.monotonic()
    out = _invoke(runs_dir, "runbook.abort", "--stack", stack.stack, "--reason", "test", "--json")
    assert out.returncode == 0, out.stderr
    assert proc.wait(timeout=30) == 1
    print(f"abort -> rolled back in {time.monotonic() - t0:.2f} s")
    assert _serving(stack)
    record = _record(runs_dir)
    assert "aborted (test)" in record["steps"][0]["error"] and record["status"] == "rolled-back"


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0] == "Z"
    except OSError:
        return True


def _invoke(runs_dir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([INVOKE, *args], cwd=ROOT, env=_env(runs_dir), capture_output=True, text=True, timeout=120)


def test_a_guard_whose_record_was_removed_exits(tmp_path: Path, runs_dir: Path) -> None:
    """A runs directory deleted under it (a bench's temporary one) must not leave a guard behind."""
    gone = tmp_path / "gone.json"
    proc = subprocess.run(
        [sys.executable, "-m", "runbooks.framework.guard", str(gone)],
        cwd=ROOT,
        env=_env(runs_dir),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 0 and "nothing left to guard" in proc.stdout
