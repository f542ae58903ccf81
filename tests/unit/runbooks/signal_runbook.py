"""A runbook run as a real process by test_signals.py: two steps that register rollbacks, the
second blocks until a signal arrives; each rollback appends to a journal file."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from runbooks.framework import Options, Run, Runbook, Step, execute
from runbooks.framework.display import Display


def main(workdir: Path) -> int:
    journal = workdir / "journal"

    def note(text: str) -> None:
        with journal.open("a") as fh:
            fh.write(text + "\n")

    def slow_undo(name: str) -> None:
        note(f"undo {name} started")
        time.sleep(0.6)  # a second signal lands here in the test
        note(f"undo {name}")

    def first(run: Run) -> None:
        note("first")
        run.on_rollback("undo first", lambda: slow_undo("first"))

    def second(run: Run) -> None:
        note("second")
        run.on_rollback("undo second", lambda: note("undo second"))
        (workdir / "ready").touch()
        time.sleep(30)
        note("second finished")  # must never be reached

    book = Runbook("signal-demo", "signal demo", (Step("first", first), Step("second", second)), exclusive=True)
    record = execute(book, Options(stack="sigtest"), display=Display(quiet=True))
    return record.exit_code or 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
