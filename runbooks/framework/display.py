"""What the operator sees: the plan, a live spinner with elapsed time per step, one line per result.

Human output goes to stderr, so `--json` leaves stdout to the machine-readable record.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from runbooks.framework.record import StepRecord
from runbooks.framework.step import Options, Runbook

MARKS = {"ok": "[green]✓[/]", "failed": "[red]✗[/]", "interrupted": "[yellow]![/]", "skipped": "[dim]-[/]"}


class StepProgress:
    """Handle a step uses to show what it is doing (`run.progress.update("12 requests, 0 failed")`)."""

    def __init__(self, progress: Progress | None, task_id: int | None, name: str) -> None:
        self._progress = progress
        self._task_id = task_id
        self._name = name

    def update(self, text: str) -> None:
        if self._progress is not None and self._task_id is not None:
            self._progress.update(self._task_id, description=f"{self._name}: {text}")


class Display:
    def __init__(self, quiet: bool = False) -> None:
        self.console = Console(stderr=True, quiet=quiet, highlight=False)

    def plan(self, runbook: Runbook, options: Options) -> None:
        from infra.cli.tables import fitted

        rows = []
        for i, step in enumerate(runbook.steps, start=1):
            kind = "probe" if step.probe else ("[red]destructive[/]" if step.destructive else "action")
            rows.append([str(i), escape(step.name), kind, escape(step.summary)])
        title = f"runbook.{runbook.name} on stack {options.stack!r}: {runbook.title}"
        fitted(self.console, title, ("#", "step", "kind", "what it does"), rows, notes="what it does")
        if runbook.seed:
            self.console.print(f"[dim]replaces: {runbook.seed}[/]")

    @contextmanager
    def running(self, name: str) -> Iterator[StepProgress]:
        """A transient spinner with elapsed time while the step runs (visible on a terminal)."""
        if self.console.quiet or not self.console.is_terminal:
            yield StepProgress(None, None, name)
            return
        columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
        with Progress(*columns, console=self.console, transient=True) as progress:
            task_id = progress.add_task(name, total=None)
            yield StepProgress(progress, task_id, name)

    def result(self, rec: StepRecord) -> None:
        mark = MARKS.get(rec.status, "?")
        took = f"{rec.duration_s:.2f} s" if rec.duration_s is not None else ""
        prefix = "rollback: " if rec.kind in ("rollback", "cleanup") else ""
        line = f"{mark} {prefix}{escape(rec.name)}  [dim]{took}[/]"
        if rec.error:
            line += f"  [red]{escape(rec.error)}[/]"
        self.console.print(line)

    def info(self, text: str) -> None:
        self.console.print(text)

    def error(self, text: str) -> None:
        self.console.print(f"[red]error:[/] {escape(text)}")
