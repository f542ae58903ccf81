"""What the operator sees: the plan, a live spinner with elapsed time per step, one line per result.

Human output goes to stderr, so `--json` leaves stdout to the machine-readable record. A run that
changes something also writes every line to `runs/<id>.log`; when the terminal goes away (SIGHUP,
a closed pipe: writes fail with EIO or EPIPE) the console falls silent and the rollback goes on,
logged to that file and the record.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

from runbooks.framework.record import StepRecord, now_iso
from runbooks.framework.step import Options, Runbook

if TYPE_CHECKING:
    from runbooks.framework.record import RunRecord

MARKS = {"ok": "[green]✓[/]", "failed": "[red]✗[/]", "interrupted": "[yellow]![/]", "skipped": "[dim]-[/]"}


class StepProgress:
    """Handle a step uses to show what it is doing (`run.progress.update("12 requests, 0 failed")`)."""

    def __init__(self, progress: Progress | None, task_id: TaskID | None, name: str) -> None:
        self._progress = progress
        self._task_id = task_id
        self._name = name

    def update(self, text: str) -> None:
        if self._progress is not None and self._task_id is not None:
            self._progress.update(self._task_id, description=f"{self._name}: {text}")


class _Console(Console):
    """rich answers a broken pipe with SystemExit(1), which would end the run before its rollback;
    here it is an OSError, which Display turns into `terminal_gone`."""

    def on_broken_pipe(self) -> None:
        raise BrokenPipeError("the console's pipe is closed")


class Display:
    def __init__(self, quiet: bool = False) -> None:
        self.console: Console = _Console(stderr=True, quiet=quiet, highlight=False)
        self.log_path: Path | None = None
        self.gone = False

    def attach_log(self, record: RunRecord) -> None:
        """Every line from now on also goes to `<runs>/<id>.log` (kept when the terminal is gone)."""
        from runbooks.framework.record import runs_dir

        self.log_path = runs_dir() / f"{record.id}.log"
        record.measurements["log"] = str(self.log_path)

    def terminal_gone(self) -> None:
        """SIGHUP or a failed write: stop writing to the console; stderr goes to /dev/null so
        neither rich nor the interpreter's exit flush fails on a dead terminal."""
        if self.gone:
            return
        self.gone = True
        self.console.quiet = True
        self._log("console: the terminal went away; output continues in this file only")
        with suppress(OSError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 2)
            os.close(devnull)

    def _log(self, markup: str) -> None:
        if self.log_path is None:
            return
        from rich.text import Text

        with suppress(OSError), self.log_path.open("a") as fh:
            fh.write(f"{now_iso()} {Text.from_markup(markup).plain}\n")

    def print(self, markup: Any) -> None:
        """Console (if still there) and log file; a dead terminal never raises into a rollback."""
        if isinstance(markup, str):
            self._log(markup)
        if self.console.quiet:
            return
        try:
            self.console.print(markup)
        except OSError:
            self.terminal_gone()

    def plan(self, runbook: Runbook, options: Options) -> None:
        from infra.fitted_table import fitted

        rows = []
        for i, step in enumerate(runbook.steps, start=1):
            kind = "probe" if step.probe else ("[red]destructive[/]" if step.destructive else "action")
            rows.append([str(i), escape(step.name), kind, escape(step.summary)])
        title = f"runbook.{runbook.name} on stack {options.stack!r}: {runbook.title}"
        try:
            fitted(self.console, title, ("#", "step", "kind", "what it does"), rows, notes="what it does")
        except OSError:
            self.terminal_gone()
        if runbook.seed:
            self.print(f"[dim]replaces: {runbook.seed}[/]")

    @contextmanager
    def running(self, name: str) -> Iterator[StepProgress]:
        """A transient spinner with elapsed time while the step runs (visible on a terminal)."""
        if self.console.quiet or not self.console.is_terminal:
            yield StepProgress(None, None, name)
            return
        columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
        progress = Progress(*columns, console=self.console, transient=True)
        try:
            progress.start()
            task_id = progress.add_task(name, total=None)
        except OSError:
            self.terminal_gone()
            yield StepProgress(None, None, name)
            return
        try:
            yield StepProgress(progress, task_id, name)
        finally:
            try:
                progress.stop()
            except OSError:
                self.terminal_gone()

    def result(self, rec: StepRecord) -> None:
        mark = MARKS.get(rec.status, "?")
        took = f"{rec.duration_s:.2f} s" if rec.duration_s is not None else ""
        prefix = "rollback: " if rec.kind in ("rollback", "cleanup") else ""
        line = f"{mark} {prefix}{escape(rec.name)}  [dim]{took}[/]"
        if rec.error:
            line += f"  [red]{escape(rec.error)}[/]"
        self.print(line)

    def info(self, text: str) -> None:
        self.print(text)

    def error(self, text: str) -> None:
        self.print(f"[red]error:[/] {escape(text)}")
