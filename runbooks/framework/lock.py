"""One mutating runbook per stack at a time: an flock on `runs/.locks/<stack>.lock`.

The kernel drops the lock when the last process holding it dies, so a killed run never leaves a
stale lock; a run's guard inherits the descriptor, so the stack stays locked while the guard may
still be rolling back a dead runner's changes.
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path
from typing import IO

from runbooks.framework.errors import BadInput
from runbooks.framework.record import runs_dir


class StackLock:
    def __init__(self, stack: str, runbook: str) -> None:
        self.stack = stack
        self.runbook = runbook
        self.path: Path = runs_dir() / ".locks" / f"{stack}.lock"
        self._fh: IO[str] | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(self.path, "a+")  # noqa: SIM115 - held for the whole run
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "unknown"
            fh.close()
            raise BadInput(
                f"another runbook is acting on stack {self.stack!r} ({holder}); wait for it or stop it first"
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(json.dumps({"runbook": self.runbook, "pid": os.getpid()}))
        fh.flush()
        self._fh = fh

    def fileno(self) -> int | None:
        """The locked descriptor: a guard inherits it, so the stack stays locked while it lives."""
        return self._fh.fileno() if self._fh is not None else None

    def release(self) -> None:
        if self._fh is not None:
            self._fh.seek(0)
            self._fh.truncate()
            fcntl.flock(self._fh, fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None
