"""A runbook run as a real process by test_signals.py: two steps that register rollbacks, the
second blocks until a signal arrives; each rollback appends to a journal file. With the test's
file `hold-undo` in the work folder, the first undo holds until the runner has seen a second
signal (its record says so), so that signal lands inside the rollback by construction."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from runbooks.framework import Options, Run, Runbook, Step, execute
from runbooks.framework.display import Display
from tests.support.waiting import wait_until

HOLD_UNDO = "hold-undo"


def main(workdir: Path) -> int:
    journal = workdir / "journal"

    def note(text: str) -> None:
        with journal.open("a") as fh:
            fh.write(text + "\n")

    def slow_undo(name: str, run: Run) -> None:
        note(f"undo {name} started")
        if (workdir / HOLD_UNDO).exists():  # a second signal lands here in the test
            wait_until(lambda: run.record.measurements.get("signals_during_rollback"), 20, "a second signal")
        note(f"undo {name}")

    def first(run: Run) -> None:
        note("first")
        run.on_rollback("undo first", lambda: slow_undo("first", run))

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
