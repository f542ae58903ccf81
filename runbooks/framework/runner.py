"""Run a runbook: plan, confirmation, steps with timings, rollbacks in reverse, a record, an exit code.

Semantics (Chaos Toolkit's steady state → method → rollbacks, SSM Automation's recorded steps):
- `--dry-run` shows the plan, runs only the leading probe steps (they read, never change) and
  touches nothing else;
- destructive steps need `--yes` (or an interactive "yes" after the plan is shown);
- on a failed step, SIGINT, SIGTERM or SIGHUP (the operator's SSH session dropped), a halt
  condition or `runbook.abort`, the rollbacks registered so far run in reverse, with further
  signals deferred so a second Ctrl-C cannot abandon the platform half restored;
- a durable undo (`on_rollback(..., durable=(kind, data))`) is written to the record before the
  step acts, and a guard process outside the runner's session runs it if the runner dies
  (SIGKILL, OOM, reboot of the jump host) or its deadline passes; `runbook.recover` runs what
  is left when the guard is gone too, and exclusive runbooks refuse to start until it has;
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
from typing import Any, TypeVar

from infra.errors import ExitCode, InferopsError, Missing
from infra.spec.model import Platform
from runbooks.framework.display import Display, StepProgress
from runbooks.framework.errors import BadInput, Interrupted, RunbookError
from runbooks.framework.lock import StackLock
from runbooks.framework.record import FINISHED_UNDO, RunRecord, StepRecord, now_iso, prune
from runbooks.framework.step import Options, Runbook, Step
from runbooks.targets.base import Target

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
S = TypeVar("S")
HALT_SIGNAL = signal.SIGUSR1  # sent by the runner's own threads (kill switch, halt conditions)


@dataclass
class Undo:
    """A registered rollback (runs on failure) or cleanup (`always`: runs at the end in any case).

    `entry` is its durable form in the record's `pending_undos` (None for in-process only)."""

    name: str
    fn: Callable[[], Any]
    always: bool = False
    active: bool = True
    entry: dict[str, Any] | None = None
    record: RunRecord | None = None

    def discharge(self) -> None:
        """The step that made this undo necessary has itself been undone: skip it (and tell the guard)."""
        self.active = False
        self.settle()

    def settle(self) -> None:
        """What the durable undo restores is back (a later step restored it): the guard and recover
        need not run it; the in-process rollback stays (it may do more, e.g. wait for traffic)."""
        if self.entry is not None and self.entry["status"] == "pending" and self.record is not None:
            self.entry.update(status="discharged", by="runner", finished=now_iso())
            self.record.save()


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
        self.state: object = runbook.state()
        self.undos: list[Undo] = []
        self.progress = StepProgress(None, None, "")
        self._step: StepRecord | None = None
        self.halt_reason: str | None = None
        self._main_ident = threading.main_thread().ident
        self._target: Target | None = None
        self._shielding: str | None = None  # what `uninterruptible` is waiting for
        self._deferred: str | None = None  # the first signal that arrived meanwhile

    def state_as(self, kind: type[S]) -> S:
        """The runbook's state as its own dataclass; RunbookError if the runbook declared another."""
        if not isinstance(self.state, kind):
            kept = type(self.state).__name__
            raise RunbookError(f"runbook {self.runbook.name!r} keeps {kept}, not {kind.__name__} (its Runbook(state=))")
        return self.state

    @property
    def stack_platform(self) -> Platform:
        """The platform the run acts on; RunbookError for a step that needs one when the run was given none."""
        if self.platform is None:
            raise RunbookError(f"runbook {self.runbook.name!r} needs the stack's platform and was run without one")
        return self.platform

    @property
    def target(self) -> Target:
        """How this run reaches the stack's services (Docker or Kubernetes), made on first use."""
        if self._target is None:
            from runbooks.targets import target_for

            self._target = target_for(self.stack_platform)
        return self._target

    @target.setter
    def target(self, value: Target) -> None:
        self._target = value  # a runbook bound to something narrower (daily-check: one namespace), or a test's

    def on_rollback(
        self,
        name: str,
        fn: Callable[[], Any],
        durable: tuple[str, dict[str, Any]] | None = None,
        deadline_s: float | None = None,
    ) -> Undo:
        """Register how to undo what the current step is about to do; runs only if the run fails.

        With `durable=(kind, data)` the undo is saved in the record before this returns (call it
        before acting): the guard runs it if the runner dies or `deadline_s` passes."""
        return self._register(Undo(name, fn), durable, deadline_s)

    def cleanup(
        self,
        name: str,
        fn: Callable[[], Any],
        durable: tuple[str, dict[str, Any]] | None = None,
        deadline_s: float | None = None,
    ) -> Undo:
        """Register something to run at the end whatever happens (stop a load generator, expire a silence)."""
        return self._register(Undo(name, fn, always=True), durable, deadline_s)

    def _register(self, undo: Undo, durable: tuple[str, dict[str, Any]] | None, deadline_s: float | None) -> Undo:
        if durable is not None:
            from runbooks.framework.durable import new_entry

            undo.entry = new_entry(undo.name, durable[0], durable[1], deadline_s, undo.always)
            undo.record = self.record
            self.record.pending_undos.append(undo.entry)
            self.record.save()  # write-ahead: on disk before the step acts
        self.undos.append(undo)
        return undo

    def halt(self, reason: str) -> None:
        """Stop the method and roll back (from any thread): a halt condition or the kill switch."""
        if self.halt_reason is not None:
            return
        self.halt_reason = reason
        self.record.measurements.setdefault("halt", {}).update(reason=reason, at=now_iso(), at_epoch=time.time())
        if self._main_ident is not None and signal.getsignal(HALT_SIGNAL) is not signal.SIG_DFL:
            signal.pthread_kill(self._main_ident, HALT_SIGNAL)

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

    @contextmanager
    def uninterruptible(self, what: str) -> Iterator[None]:
        """A call the far side carries on with once sent (a Qdrant recover): a signal meanwhile is
        obeyed when it returns, so the rollback never races the operation it undoes. Bound the
        call with a timeout; SIGKILL still abandons it (the guard then runs the durable undos)."""
        self._shielding, self._deferred = what, None
        try:
            yield
        finally:
            self._shielding = None
        if self._deferred is not None:
            raise Interrupted(self._deferred)

    def _defer(self, signame: str) -> bool:
        """Note a signal that arrived inside `uninterruptible`; False outside one."""
        if self._shielding is None:
            return False
        if self._deferred is None:
            self._deferred = signame
            self.display.info(f"[yellow]{signame}: waiting for {self._shielding} to answer, then rolling back[/]")
        return True


def _kind(step: Step) -> str:
    return "probe" if step.probe else ("destructive" if step.destructive else "action")


def _can_handle_signals() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextmanager
def _signals_raise(run: Run) -> Iterator[None]:
    """SIGINT, SIGTERM and SIGHUP (and a halt) raise Interrupted in the main thread, wherever a step is."""
    if not _can_handle_signals():
        yield
        return

    def handler(signum: int, _frame: object) -> None:
        name = f"halt: {run.halt_reason}" if signum == HALT_SIGNAL else signal.Signals(signum).name
        if signum == signal.SIGHUP:
            run.display.terminal_gone()
        if not run._defer(name):
            raise Interrupted(name)

    old = {s: signal.signal(s, handler) for s in (*SIGNALS, HALT_SIGNAL)}
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
        if signum == HALT_SIGNAL:
            return  # a halt during rollback: already rolling back
        if signum == signal.SIGHUP:
            run.display.terminal_gone()
        run.record.measurements.setdefault("signals_during_rollback", []).append(name)
        run.display.info(f"[yellow]{name} ignored: rollback in progress (SIGKILL would abandon it)[/]")

    old = {s: signal.signal(s, handler) for s in (*SIGNALS, HALT_SIGNAL)}
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
                _journal(undo, "not-needed")
                continue
            rec = StepRecord(undo.name, "cleanup" if undo.always else "rollback", status="running", started=now_iso())
            run.record.rollbacks.append(rec)
            _journal(undo, "running")
            run.record.save()
            t0 = time.monotonic()
            try:
                with run.display.running(f"rollback: {undo.name}"):
                    undo.fn()
                rec.status = "ok"
            except Exception as err:
                rec.status, rec.error = "failed", f"{type(err).__name__}: {err}"
                all_ok = False
            _journal(undo, "done" if rec.status == "ok" else "failed", rec.error)
            rec.duration_s = round(time.monotonic() - t0, 3)
            run.display.result(rec)
            run.record.save()
    return all_ok


def _journal(undo: Undo, status: str, error: str | None = None) -> None:
    """Mark an undo's durable entry (saved with the record's next save). A merge keeps the
    furthest state, so an entry the guard already did stays done."""
    if undo.entry is None or undo.entry["status"] in FINISHED_UNDO:
        return
    if status == "not-needed" and undo.entry["status"] != "pending":
        return
    undo.entry.update(status=status, by="runner", error=error)
    if status != "running":
        undo.entry["finished"] = now_iso()


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
    if runbook.keep_records is not None:
        prune(runbook.name, options.stack, runbook.keep_records - 1)  # and this run's own makes keep_records
    record.save()
    if options.dry_run:
        return _dry_run(run)
    if runbook.destructive_steps and not _confirmed(runbook, options, display, confirm):
        names = ", ".join(s.name for s in runbook.destructive_steps)
        msg = f"destructive steps ({names}) need --yes; nothing was changed (--dry-run shows the plan)"
        display.error(msg)
        return _finish(record, "refused", ExitCode.FAILED, msg)
    lock = StackLock(options.stack, runbook.name) if runbook.exclusive else None
    if lock is None:
        _warn_if_stranded(options.stack, display)
    try:
        if lock:
            lock.acquire()
            _refuse_if_stranded(options.stack)
    except BadInput as err:
        if lock:
            lock.release()
        display.error(str(err))
        return _finish(record, "refused", ExitCode.FAILED, str(err))
    try:
        with _guarded(run, lock):
            return _execute_steps(run)
    finally:
        if lock:
            lock.release()


def _refuse_if_stranded(stack: str) -> None:
    """A run on this stack died with undos pending and no guard: nothing may act until it is recovered."""
    from runbooks.framework.durable import outstanding, stranded_runs

    stranded = stranded_runs(stack)
    if stranded:
        r = stranded[0]
        names = "; ".join(u["name"] for u in outstanding(r))
        raise BadInput(
            f"run {r['id']} ({r['runbook']}, pid {r['pid']}) died with undos pending ({names}): "
            f"run `invoke runbook.recover --stack {stack}` first"
        )


def _warn_if_stranded(stack: str, display: Display) -> None:
    """A read-only runbook still runs, but says that something was left undone."""
    try:
        _refuse_if_stranded(stack)
    except BadInput as err:
        display.info(f"[yellow]warning: {err}[/]")


@contextmanager
def _guarded(run: Run, lock: StackLock | None) -> Iterator[None]:
    """A heartbeat (and kill-switch watcher) thread in the runner, and a guard process outside it,
    for runbooks that change something."""
    if not run.runbook.destructive_steps or run.platform is None:
        yield
        return
    from runbooks.framework.guard import Heartbeat, spawn_guard

    run.display.attach_log(run.record)
    old = signal.signal(HALT_SIGNAL, signal.SIG_IGN) if _can_handle_signals() else None
    beat = Heartbeat(run)
    beat.start()
    spawn_guard(run, lock)
    try:
        yield
    finally:
        beat.stop()
        if old is not None:
            signal.signal(HALT_SIGNAL, old)
        from runbooks.framework.durable import forget, outstanding

        if not outstanding(run.record.to_dict()):
            forget(run.record.id)


def _execute_steps(run: Run) -> RunRecord:
    record = run.record
    failure: BaseException | None = None
    with _signals_raise(run):
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
