"""The watch's persisted state: issues, outbox, baselines, counters; one schema-versioned JSON file.

Written atomically (temp file in the same directory, fsync, rename, fsync of the directory), so a
crash or power cut leaves the old or the new file, never half of one. A file that cannot be read
(corrupt JSON, an unknown schema) is moved aside as `state.json.corrupt-<time>` with a warning
and the cycle starts fresh: watching goes on. An flock on `state.lock` keeps two cycles (a
timer and a manual `--once`) from interleaving their read-modify-write.

Where: `.state/<stack>/watch/` (the stack's state dir, beside its local secrets), or
`$INFEROPS_WATCH_STATE_DIR` (tests).
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
import time
from pathlib import Path
from typing import IO, Any

from pydantic import BaseModel, Field, ValidationError

from runbooks.framework.errors import BadInput
from runbooks.watch.baseline import Baseline
from runbooks.watch.machine import Entry, Notice

__all__ = ["SCHEMA", "STATE_ENV", "Delivery", "StateFile", "WatchLock", "load", "save", "state_dir"]

SCHEMA = 1
STATE_ENV = "INFEROPS_WATCH_STATE_DIR"
SENT_KEPT = 500  # delivery ids remembered after sending, so a re-queued notice is not sent twice


def state_dir(stack: str) -> Path:
    from infra.secrets_local import STATE_DIR

    override = os.environ.get(STATE_ENV)
    return Path(override) if override else STATE_DIR / stack / "watch"


class Delivery(BaseModel):
    """One notice for one receiver, waiting in the outbox until the receiver takes it."""

    id: str  # notice id + receiver: what the receiver sees as the idempotency key
    receiver: str
    notice: Notice
    explanation: str | None = None
    queued_at: float
    attempts: int = 0
    last_error: str | None = None


class StateFile(BaseModel):
    schema_version: int = SCHEMA
    stack: str = ""
    entries: dict[str, Entry] = Field(default_factory=dict)
    outbox: list[Delivery] = Field(default_factory=list)
    sent: list[str] = Field(default_factory=list)  # delivery ids already delivered, newest last
    baselines: dict[str, Baseline] = Field(default_factory=dict)
    cycles: int = 0
    last_cycle_at: float | None = None
    last_cycle_s: float | None = None
    notices_total: int = 0
    delivered_total: int = 0
    failed_deliveries_total: int = 0

    def mark_sent(self, delivery_id: str) -> None:
        self.sent = [*self.sent, delivery_id][-SENT_KEPT:]


def _aside(path: Path, why: str) -> str:
    dest = path.with_name(f"{path.name}.corrupt-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}")
    os.replace(path, dest)
    return f"state file {path} unreadable ({why}): kept as {dest.name}, starting fresh"


def load(directory: Path, stack: str) -> tuple[StateFile, list[str]]:
    """The saved state (or a fresh one) and any warnings about what was found."""
    path = directory / "state.json"
    if not path.exists():
        return StateFile(stack=stack), []
    try:
        raw: Any = json.loads(path.read_text())
        if not isinstance(raw, dict):
            raise ValueError("not a JSON object")
        if raw.get("schema_version") != SCHEMA:
            raise ValueError(f"schema_version {raw.get('schema_version')!r}, this watch reads {SCHEMA}")
        return StateFile.model_validate(raw), []
    except (OSError, ValueError, ValidationError) as err:
        why = str(err).splitlines()[0][:200]
        return StateFile(stack=stack), [_aside(path, why)]


def save(directory: Path, state: StateFile) -> Path:
    """Atomic replace: temp file, fsync, rename, fsync of the directory (the rename itself durable)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "state.json"
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".state-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(state.model_dump_json(indent=1))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dfd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)
    return path


class WatchLock:
    """flock on `state.lock`: one cycle at a time per state dir; the kernel drops it if we die."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / "state.lock"
        self._fh: IO[str] | None = None

    def __enter__(self) -> WatchLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(self.path, "a+")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "unknown"
            fh.close()
            raise BadInput(f"another watch cycle holds {self.path} (pid {holder}); it will finish first") from None
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        self._fh = fh
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fh is not None:
            fcntl.flock(self._fh, fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None
