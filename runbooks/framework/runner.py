"""Run a runbook: plan, confirmation, steps with timings, rollbacks in reverse, a record, an exit code.

Semantics (Chaos Toolkit's steady state → method → rollbacks, SSM Automation's recorded steps):
- `--dry-run` shows the plan, runs only the leading probe steps (they read, never change) and
  touches nothing else;
- destructive steps need `--yes` (or an interactive "yes" after the plan is shown);
- on a failed step, SIGINT or SIGTERM, the rollbacks registered so far run in reverse, with
  further signals deferred so a second Ctrl-C cannot abandon the platform half restored;
- exit codes are the project's (infra.errors.ExitCode): 0 worked, 1 failed and rolled back,
  2 a rollback failed (a human must look), 3 something needed is missing or unreachable.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

from infra.errors import ExitCode, InferopsError, Missing
from infra.spec.model import Platform
from runbooks.framework.display import Display, StepProgress
from runbooks.framework.errors import BadInput, Interrupted
from runbooks.framework.lock import StackLock
from runbooks.framework.record import RunRecord, StepRecord, now_iso
from runbooks.framework.step import Options, Runbook, Step


@dataclass
class Undo:
    """A registered rollback (runs on failure) or cleanup (`always`: runs at the end in any case)."""

    name: str
    fn: Callable[[], Any]
    always: bool = False
    active: bool = True

    def discharge(self) -> None:
        """The step that made this undo necessary has itself been undone: skip it."""
        self.active = False


class Run:
    """What a step sees: the platform, the options, shared state, and the record to write into."""

    def __init__(
        self, runbook: Runbook, options: Options, platform: Platform | None, record: RunRecord, display: Display
    ) -> None:
        self.runbook = runbook
        self.options = options
        self.platform = platform
        self.record = record
        self.display = display
        self.state: dict[str, Any] = {}
        self.undos: list[Undo] = []
        self.progress = StepProgress(None, None, "")
        self._step: StepRecord | None = None

    def on_rollback(self, name: str, fn: Callable[[], Any]) -> Undo:
        """Register how to undo what the current step just did; runs only if the run fails."""
        undo = Undo(name, fn)
        self.undos.append(undo)
        return undo

    def cleanup(self, name: str, fn: Callable[[], Any]) -> Undo:
        """Register something to run at the end whatever happens (stop a load generator)."""
        undo = Undo(name, fn, always=True)
        self.undos.append(undo)
        return undo

    def measure(self, key: str, value: Any) -> None:
        self.record.measurements[key] = value
        self.record.save()

    def detail(self, key: str, value: Any) -> None:
        """Attach a fact to the current step's record."""
        if self._step is not None:
            self._step.detail[key] = value

    def set_phase(self, phase: str, percent: float | None = None) -> None:
        """Publish progress in the record, for a status command reading it while this runs."""
        self.record.phase = phase
        self.record.percent = percent
        self.record.save()

    def log(self, text: str) -> None:
        self.display.info(text)


def _kind(step: Step) -> str:
    return "probe" if step.probe else ("destructive" if step.destructive else "action")


def _can_handle_signals() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextmanager
def _signals_raise() -> Iterator[None]:
    """SIGINT and SIGTERM raise Interrupted in the main thread, wherever a step is."""
    if not _can_handle_signals():
        yield
        return

    def handler(signum: int, _frame: object) -> None:
        raise Interrupted(signal.Signals(signum).name)

    old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


@contextmanager
def _signals_deferred(run: Run) -> Iterator[None]:
    """During rollback a signal is noted, not obeyed: leaving half-restored is the worst outcome."""
    if not _can_handle_signals():
        yield
        return

    def handler(signum: int, _frame: object) -> None:
        name = signal.Signals(signum).name
        run.record.measurements.setdefault("signals_during_rollback", []).append(name)
        run.display.info(f"[yellow]{name} ignored: rollback in progress (SIGKILL would abandon it)[/]")

    old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def _run_step(run: Run, step: Step, rec: StepRecord) -> BaseException | None:
    rec.status = "running"
    rec.started = now_iso()
    run.record.save()
    run._step = rec
    t0 = time.monotonic()
    failure: BaseException | None = None
    try:
        with run.display.running(step.name) as progress:
            run.progress = progress
            result = step.action(run)
        if isinstance(result, dict):
            rec.detail.update(result)
        rec.status = "ok"
    except Interrupted as err:
        rec.status, rec.error, failure = "interrupted", str(err), err
    except InferopsError as err:
        rec.status, rec.error, failure = "failed", str(err), err
    except Exception as err:
        rec.status, rec.error, failure = "failed", f"{type(err).__name__}: {err}", err
        rec.detail["traceback"] = traceback.format_exc(limit=8)
    finally:
        rec.duration_s = round(time.monotonic() - t0, 3)
        run._step = None
        run.display.result(rec)
        run.record.save()
    return failure


def _unwind(run: Run, failed: bool) -> bool:
    """Run registered undos in reverse (all on failure, only cleanups on success); True if all worked."""
    all_ok = True
    with _signals_deferred(run):
        for undo in reversed(run.undos):
            if not undo.active or (not failed and not undo.always):
                continue
            rec = StepRecord(undo.name, "cleanup" if undo.always else "rollback", status="running", started=now_iso())
            run.record.rollbacks.append(rec)
            run.record.save()
            t0 = time.monotonic()
            try:
                with run.display.running(f"rollback: {undo.name}"):
                    undo.fn()
                rec.status = "ok"
            except Exception as err:
                rec.status, rec.error = "failed", f"{type(err).__name__}: {err}"
                all_ok = False
            rec.duration_s = round(time.monotonic() - t0, 3)
            run.display.result(rec)
            run.record.save()
    return all_ok


def _confirmed(runbook: Runbook, options: Options, display: Display, confirm: Callable[[str], bool] | None) -> bool:
    if options.yes:
        return True
    names = ", ".join(s.name for s in runbook.destructive_steps)
    if confirm is None and sys.stdin.isatty() and not options.json:
        from rich.prompt import Confirm

        confirm = lambda q: Confirm.ask(q, console=display.console, default=False)  # noqa: E731
    return bool(confirm and confirm(f"run the destructive steps ({names})?"))


def _finish(record: RunRecord, status: str, code: ExitCode, error: str | None = None) -> RunRecord:
    record.status = status
    record.exit_code = int(code)
    record.error = error or record.error
    record.finished = now_iso()
    record.duration_s = round(record.elapsed(), 3)
    record.save()
    return record


def _dry_run(run: Run) -> RunRecord:
    """Leading probes run (the steady state); everything from the first non-probe on is only shown."""
    record = run.record
    for step, rec in zip(run.runbook.steps, record.steps, strict=True):
        if not step.probe:
            break
        if _run_step(run, step, rec) is not None:
            return _finish(record, "dry-run", ExitCode.FAILED, f"probe {step.name!r} failed: {rec.error}")
    run.display.info("[dim]dry run: nothing was changed[/]")
    return _finish(record, "dry-run", ExitCode.OK)


def execute(
    runbook: Runbook,
    options: Options,
    platform: Platform | None = None,
    display: Display | None = None,
    confirm: Callable[[str], bool] | None = None,
) -> RunRecord:
    """Run `runbook`; returns its record, whose `exit_code` is what the process should exit with."""
    display = display or Display(quiet=options.json)
    opts = {k: v for k, v in asdict(options).items() if k != "extra"} | options.extra
    record = RunRecord(runbook.name, options.stack, opts)
    record.steps = [StepRecord(s.name, _kind(s)) for s in runbook.steps]
    run = Run(runbook, options, platform, record, display)
    display.plan(runbook, options)
    record.save()
    if options.dry_run:
        return _dry_run(run)
    if runbook.destructive_steps and not _confirmed(runbook, options, display, confirm):
        names = ", ".join(s.name for s in runbook.destructive_steps)
        msg = f"destructive steps ({names}) need --yes; nothing was changed (--dry-run shows the plan)"
        display.error(msg)
        return _finish(record, "refused", ExitCode.FAILED, msg)
    lock = StackLock(options.stack, runbook.name) if runbook.exclusive else None
    try:
        if lock:
            lock.acquire()
    except BadInput as err:
        display.error(str(err))
        return _finish(record, "refused", ExitCode.FAILED, str(err))
    try:
        return _execute_steps(run)
    finally:
        if lock:
            lock.release()


def _execute_steps(run: Run) -> RunRecord:
    record = run.record
    failure: BaseException | None = None
    with _signals_raise():
        try:
            for step, rec in zip(run.runbook.steps, record.steps, strict=True):
                failure = _run_step(run, step, rec)
                if failure is not None:
                    break
        except Interrupted as err:  # arrived between steps
            failure = err
    failed = failure is not None
    error = None
    if failed:
        failed_step = next((r for r in record.steps if r.status in ("failed", "interrupted")), None)
        where = f"step {failed_step.name!r}: " if failed_step else ""
        error = f"{where}{failed_step.error if failed_step else failure}"
        run.display.error(error)
    undone = _unwind(run, failed)
    if not undone:
        run.display.error("a rollback failed: the platform may be left changed; see the run record")
        return _finish(record, "rollback-failed", ExitCode.ROLLBACK_FAILED, error)
    if failed:
        code = ExitCode.MISSING if isinstance(failure, Missing) else ExitCode.FAILED
        return _finish(record, "rolled-back" if record.rollbacks else "failed", code, error)
    return _finish(record, "ok", ExitCode.OK)
