"""Framework semantics: dry-run is inert, --yes gates destructive steps, rollbacks run in reverse,
exit codes 0/1/2, and the run record says what happened."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from runbooks.framework import ExitCode, Options, Run, Runbook, RunbookError, Step, execute
from runbooks.framework.display import Display
from runbooks.framework.lock import StackLock
from runbooks.framework.record import RunRecord, latest, records, write_json

QUIET = Display(quiet=True)


def _book(calls: list[str], fail_at: str | None = None, failing_rollback: str | None = None) -> Runbook:
    def action(name: str, undo: bool = True):
        def fn(run: Run) -> dict:
            calls.append(name)
            if undo:

                def rollback() -> None:
                    calls.append(f"undo {name}")
                    if name == failing_rollback:
                        raise RuntimeError(f"cannot undo {name}")

                run.on_rollback(f"undo {name}", rollback)
            run.measure(f"{name}_done", True)
            if name == fail_at:
                raise RunbookError(f"{name} broke")
            return {"did": name}

        return fn

    return Runbook(
        name="demo",
        title="demo",
        exclusive=False,
        steps=(
            Step("check", action("check", undo=False), probe=True),
            Step("first", action("first")),
            Step("second", action("second"), destructive=True),
            Step("third", action("third")),
        ),
    )


def test_success_runs_every_step_no_rollback_exit_0(runs_dir: Path) -> None:
    calls: list[str] = []
    rec = execute(_book(calls), Options(yes=True), display=QUIET)
    assert calls == ["check", "first", "second", "third"]
    assert rec.exit_code == ExitCode.OK and rec.status == "ok"
    assert rec.rollbacks == []


def test_dry_run_runs_only_leading_probes_and_changes_nothing(runs_dir: Path) -> None:
    calls: list[str] = []
    rec = execute(_book(calls), Options(dry_run=True, yes=True), display=QUIET)
    assert calls == ["check"]
    assert rec.status == "dry-run" and rec.exit_code == 0
    assert [s.status for s in rec.steps] == ["ok", "planned", "planned", "planned"]


def test_dry_run_reports_a_failing_probe(runs_dir: Path) -> None:
    calls: list[str] = []
    rec = execute(_book(calls, fail_at="check"), Options(dry_run=True), display=QUIET)
    assert calls == ["check"]
    assert rec.exit_code == ExitCode.FAILED and "check broke" in rec.error


def test_destructive_steps_need_yes(runs_dir: Path) -> None:
    calls: list[str] = []
    rec = execute(_book(calls), Options(yes=False), display=QUIET)
    assert calls == []  # not even the probes: nothing happens without consent
    assert rec.status == "refused" and rec.exit_code == ExitCode.FAILED
    assert "second" in rec.error and "--yes" in rec.error


def test_interactive_confirmation_is_asked_after_the_plan(runs_dir: Path) -> None:
    calls: list[str] = []
    questions: list[str] = []
    rec = execute(_book(calls), Options(), display=QUIET, confirm=lambda q: questions.append(q) or True)
    assert rec.exit_code == 0 and calls[-1] == "third"
    assert "second" in questions[0]


def test_failure_rolls_back_in_reverse_and_exits_1(runs_dir: Path) -> None:
    calls: list[str] = []
    rec = execute(_book(calls, fail_at="third"), Options(yes=True), display=QUIET)
    assert calls == ["check", "first", "second", "third", "undo third", "undo second", "undo first"]
    assert rec.exit_code == ExitCode.FAILED and rec.status == "rolled-back"
    assert [r.name for r in rec.rollbacks] == ["undo third", "undo second", "undo first"]
    assert all(r.status == "ok" for r in rec.rollbacks)
    assert [s.status for s in rec.steps] == ["ok", "ok", "ok", "failed"]
    assert "third broke" in rec.error


def test_failed_rollback_exits_2_and_still_runs_the_others(runs_dir: Path) -> None:
    calls: list[str] = []
    rec = execute(_book(calls, fail_at="third", failing_rollback="second"), Options(yes=True), display=QUIET)
    assert calls[-3:] == ["undo third", "undo second", "undo first"]
    assert rec.exit_code == ExitCode.ROLLBACK_FAILED and rec.status == "rollback-failed"
    assert [r.status for r in rec.rollbacks] == ["ok", "failed", "ok"]
    assert "cannot undo second" in rec.rollbacks[1].error


def test_unexpected_exception_is_a_failed_step_with_traceback(runs_dir: Path) -> None:
    def boom(run: Run) -> None:
        raise ZeroDivisionError("x")

    book = Runbook("boom", "boom", (Step("boom", boom),), exclusive=False)
    rec = execute(book, Options(), display=QUIET)
    assert rec.exit_code == 1
    assert rec.steps[0].error == "ZeroDivisionError: x"
    assert "ZeroDivisionError" in rec.steps[0].detail["traceback"]


def test_cleanups_run_on_success_rollbacks_do_not_discharged_skip(runs_dir: Path) -> None:
    calls: list[str] = []

    def step(run: Run) -> None:
        run.cleanup("cleanup", lambda: calls.append("cleanup"))
        run.on_rollback("rollback", lambda: calls.append("rollback"))
        run.on_rollback("discharged", lambda: calls.append("discharged")).discharge()

    ok = execute(Runbook("c", "c", (Step("s", step),), exclusive=False), Options(), display=QUIET)
    assert calls == ["cleanup"] and ok.exit_code == 0

    calls.clear()

    def failing(run: Run) -> None:
        step(run)
        raise RunbookError("no")

    bad = execute(Runbook("c", "c", (Step("s", failing),), exclusive=False), Options(), display=QUIET)
    assert calls == ["rollback", "cleanup"] and bad.exit_code == 1


def test_record_is_written_with_steps_timings_measurements(runs_dir: Path) -> None:
    calls: list[str] = []
    rec = execute(_book(calls, fail_at="third"), Options(stack="local", yes=True, extra={"rate": 3}), display=QUIET)
    files = list(runs_dir.glob("*.json"))
    assert len(files) == 1 and files[0] == rec.path
    data = json.loads(files[0].read_text())
    assert data["runbook"] == "demo" and data["stack"] == "local"
    assert data["options"]["rate"] == 3 and data["options"]["yes"] is True
    assert data["status"] == "rolled-back" and data["exit_code"] == 1
    assert [s["name"] for s in data["steps"]] == ["check", "first", "second", "third"]
    assert all(isinstance(s["duration_s"], float) for s in data["steps"])
    assert data["steps"][1]["detail"] == {"did": "first"}
    assert data["measurements"]["first_done"] is True
    assert [r["name"] for r in data["rollbacks"]] == ["undo third", "undo second", "undo first"]
    assert data["finished"] and data["duration_s"] >= 0
    assert latest("demo", "local")["id"] == rec.id


def test_record_is_readable_while_running(runs_dir: Path) -> None:
    seen: dict = {}

    def step(run: Run) -> None:
        run.set_phase("warming_up", 40)
        seen.update(latest("live", "local") or {})

    execute(Runbook("live", "live", (Step("s", step),), exclusive=False), Options(), display=QUIET)
    assert seen["status"] == "running" and seen["phase"] == "warming_up" and seen["percent"] == 40
    assert seen["steps"][0]["status"] == "running"


def test_a_record_being_written_is_never_listed_twice(runs_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The guard rewrites a record while recover lists the directory: the temporary file, complete
    and not yet renamed, must not look like a second run (it did, and a SIGKILL test saw two)."""
    rec = execute(Runbook("one", "one", (Step("s", lambda run: None),), exclusive=False), Options(), display=QUIET)
    seen: list[list[str]] = []
    real_replace = __import__("os").replace

    def replace_after_listing(src: str, dst: Path) -> None:
        seen.append([p.name for p in runs_dir.glob("*.json")])
        seen.append([r["id"] for r in records()])
        real_replace(src, dst)

    monkeypatch.setattr("runbooks.framework.record.os.replace", replace_after_listing)
    write_json(rec.path, json.loads(rec.path.read_text()))
    assert seen == [[rec.path.name], [rec.id]]


def test_exclusive_runbooks_refuse_while_the_stack_is_locked(runs_dir: Path) -> None:
    calls: list[str] = []
    book = Runbook("x", "x", (Step("s", lambda run: calls.append("ran")),), exclusive=True)
    held = StackLock("local", "other")
    held.acquire()
    try:
        rec = execute(book, Options(), display=QUIET)
    finally:
        held.release()
    assert calls == [] and rec.status == "refused" and "another runbook" in rec.error
    assert execute(book, Options(), display=QUIET).exit_code == 0 and calls == ["ran"]


def test_steps_share_the_runbook_s_own_state_fresh_per_run(runs_dir: Path) -> None:
    @dataclass
    class Counted:
        seen: list[str] = field(default_factory=list)

    def first(run: Run) -> None:
        run.state_as(Counted).seen.append("first")

    def second(run: Run) -> dict[str, list[str]]:
        return {"seen": [*run.state_as(Counted).seen, "second"]}

    book = Runbook("typed", "typed", (Step("a", first), Step("b", second)), exclusive=False, state=Counted)
    for _ in range(2):  # a second run starts from a new state, not the first run's
        rec = execute(book, Options(), display=QUIET)
        assert rec.exit_code == 0 and rec.steps[1].detail == {"seen": ["first", "second"]}


def test_a_step_that_asks_for_another_runbook_s_state_fails_naming_both(runs_dir: Path) -> None:
    @dataclass
    class Other:
        pass

    book = Runbook("plain", "plain", (Step("s", lambda run: run.state_as(Other)),), exclusive=False)
    rec = execute(book, Options(), display=QUIET)
    assert rec.exit_code == ExitCode.FAILED
    assert "keeps NoState, not Other" in (rec.steps[0].error or "")


def test_a_runbook_that_keeps_n_records_deletes_older_finished_ones_only(runs_dir: Path) -> None:
    def saved(status: str, undo: str | None = None, log: bool = False) -> Path:
        rec = RunRecord(runbook="cycle", stack="unit", options={}, status=status)
        if undo is not None:
            rec.pending_undos.append({"id": "u1", "status": undo})
        path = rec.save()
        if log:
            path.with_suffix(".log").write_text("a line\n")
        return path

    old_done = [saved("ok", log=True) for _ in range(4)]
    running, stranded = saved("running"), saved("failed", undo="pending")
    recent = saved("ok")
    other = RunRecord(runbook="cycle", stack="other", options={}, status="ok").save()
    book = Runbook("cycle", "cycle", (Step("s", lambda run: None),), exclusive=False, keep_records=2)
    rec = execute(book, Options(stack="unit"), display=QUIET)
    left = sorted(p.name for p in runs_dir.iterdir())
    assert rec.exit_code == 0
    assert {running.name, stranded.name, recent.name, other.name, f"{rec.id}.json"} <= set(left)
    assert not any(p.name in left or p.with_suffix(".log").name in left for p in old_done)
    assert not any(n.startswith(f".{p.stem}") for p in old_done for n in left)  # their locks too
    assert len(records("cycle", "unit")) == 4  # the 2 kept (recent and this run) + running + stranded


def test_step_cannot_be_probe_and_destructive() -> None:
    with pytest.raises(ValueError, match="both"):
        Step("x", lambda run: None, probe=True, destructive=True)


def test_a_signal_inside_uninterruptible_waits_for_the_call_then_rolls_back(runs_dir: Path) -> None:
    """The call finishes (a far side carries it out anyway), and only then does the rollback start."""
    import os
    import signal

    calls: list[str] = []

    def act(run: Run) -> None:
        run.on_rollback("undo act", lambda: calls.append("undo act"))
        with run.uninterruptible("the far side"):
            os.kill(os.getpid(), signal.SIGINT)
            calls.append("call answered")
        calls.append("not reached")

    book = Runbook(name="demo", title="demo", exclusive=False, steps=(Step("act", act),))
    rec = execute(book, Options(yes=True), display=QUIET)
    assert calls == ["call answered", "undo act"]
    assert rec.exit_code == ExitCode.FAILED and rec.steps[0].status == "interrupted"
    assert "SIGINT" in (rec.steps[0].error or "")
