"""`runbook.reload-status` reads the state file (the run record) of a reload, finished or running."""

from __future__ import annotations

import os

from runbooks.framework.record import RunRecord
from runbooks.reload.status import reload_status


def _record(status: str, phase: str | None, percent: float | None, pid: int | None = None) -> RunRecord:
    rec = RunRecord("reload", "rl", {"service": "inference-chat"})
    rec.status, rec.phase, rec.percent = status, phase, percent
    if pid is not None:
        rec.pid = pid
    rec.steps = []
    return rec


def test_idle_when_no_reload_ran() -> None:
    assert reload_status("rl")["state"] == "idle"


def test_a_running_reload_shows_its_phase_percent_and_step() -> None:
    from runbooks.framework.record import StepRecord

    rec = _record("running", "warming_up", 46.7)
    rec.steps = [StepRecord("load", "destructive", "ok"), StepRecord("warm-up", "action", "running")]
    rec.save()
    st = reload_status("rl")
    assert (st["state"], st["progress_percent"], st["message"]) == ("warming_up", 46.7, "step warm-up")
    assert st["service"] == "inference-chat"


def test_a_run_whose_process_died_reads_as_failed() -> None:
    dead = os.getpid()
    while True:  # a pid that is not alive
        dead += 1000
        try:
            os.kill(dead, 0)
        except OSError:
            break
    _record("running", "switching", 85, pid=dead).save()
    st = reload_status("rl")
    assert st["state"] == "failed" and "died" in st["message"]


def test_finished_runs_map_to_seed_states_and_keep_config_changes() -> None:
    rec = _record("rolled-back", "warming_up", 40)
    rec.save()
    assert reload_status("rl")["state"] == "failed"
    rec = _record("ok", "completed", 100)
    rec.config_changes = [{"file": "f", "changes": [{"key": "k", "old": 1, "new": 2}], "diff": "d"}]
    rec.save()
    st = reload_status("rl")
    assert st["state"] == "completed" and st["progress_percent"] == 100.0
    assert st["config_changes"] == [{"key": "k", "old": 1, "new": 2}]


def test_dry_runs_and_refused_runs_are_not_reloads() -> None:
    _record("ok", "completed", 100).save()
    _record("dry-run", None, None).save()
    _record("refused", None, None).save()
    assert reload_status("rl")["state"] == "completed"
