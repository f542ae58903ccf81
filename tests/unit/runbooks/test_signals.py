"""SIGINT and SIGTERM mid-run, sent to a real process: rollbacks run in reverse, a second
signal during the rollback is ignored, the exit code is 1, and the record says `interrupted`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from runbooks.framework.record import RUNS_ENV
from tests.unit.runbooks.signal_runbook import HOLD_UNDO

ROOT = Path(__file__).resolve().parents[3]


def _start(tmp_path: Path, runs_dir: Path) -> subprocess.Popen:
    env = {**os.environ, RUNS_ENV: str(runs_dir), "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.unit.runbooks.signal_runbook", str(tmp_path)], cwd=ROOT, env=env
    )
    deadline = time.monotonic() + 20
    while not (tmp_path / "ready").exists():
        assert proc.poll() is None, "runbook process died before its second step"
        assert time.monotonic() < deadline, "runbook never reached its second step"
        time.sleep(0.02)
    return proc


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_mid_run_runs_rollbacks_in_reverse(tmp_path: Path, runs_dir: Path, sig: signal.Signals) -> None:
    proc = _start(tmp_path, runs_dir)
    proc.send_signal(sig)
    assert proc.wait(timeout=20) == 1
    journal = (tmp_path / "journal").read_text().splitlines()
    assert journal == ["first", "second", "undo second", "undo first started", "undo first"]
    (record,) = [json.loads(p.read_text()) for p in runs_dir.glob("*.json")]
    assert record["status"] == "rolled-back" and record["exit_code"] == 1
    assert record["steps"][1]["status"] == "interrupted"
    assert sig.name in record["steps"][1]["error"]
    assert [r["name"] for r in record["rollbacks"]] == ["undo second", "undo first"]


def test_second_sigint_during_rollback_is_ignored(tmp_path: Path, runs_dir: Path) -> None:
    (tmp_path / HOLD_UNDO).touch()
    proc = _start(tmp_path, runs_dir)
    proc.send_signal(signal.SIGINT)
    journal = tmp_path / "journal"
    deadline = time.monotonic() + 10
    while "undo first started" not in journal.read_text():
        assert time.monotonic() < deadline
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=20) == 1
    assert journal.read_text().splitlines()[-1] == "undo first"
    (record,) = [json.loads(p.read_text()) for p in runs_dir.glob("*.json")]
    assert record["measurements"]["signals_during_rollback"] == ["SIGINT"]
    assert all(r["status"] == "ok" for r in record["rollbacks"])
