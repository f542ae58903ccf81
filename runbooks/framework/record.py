"""The JSON run record under `runs/`: steps, timings, measurements, config changes and outcome.

It is rewritten atomically after every change, so it doubles as the state file of a run in
progress (`status: running`, `phase`, `percent`): another process reads it with `latest()`.

`pending_undos` is the write-ahead journal of a run's durable undos (runbooks/framework/durable.py):
the runner, its guard and `runbook.recover` all write it, so every save happens under the run's
flock and merges the entries on disk (an entry never goes back from done to pending).
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from infra.spec.stackconfig import ROOT

RUNS_ENV = "INFEROPS_RUNS_DIR"


def runs_dir() -> Path:
    """Where records go: `runs/` at the repository root, or `$INFEROPS_RUNS_DIR` (tests)."""
    return Path(os.environ.get(RUNS_ENV) or ROOT / "runs")


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass
class StepRecord:
    name: str
    kind: str  # probe | action | destructive | rollback | cleanup
    status: str = "planned"  # planned | running | ok | failed | skipped | interrupted
    started: str | None = None
    duration_s: float | None = None
    error: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunRecord:
    runbook: str
    stack: str
    options: dict[str, Any]
    id: str = ""
    pid: int = field(default_factory=os.getpid)
    status: str = "running"  # running | ok | failed | rolled-back | rollback-failed | dry-run | refused
    exit_code: int | None = None
    started: str = field(default_factory=now_iso)
    finished: str | None = None
    duration_s: float | None = None
    phase: str | None = None
    percent: float | None = None
    error: str | None = None
    steps: list[StepRecord] = field(default_factory=list)
    rollbacks: list[StepRecord] = field(default_factory=list)
    measurements: dict[str, Any] = field(default_factory=dict)
    config_changes: list[dict[str, Any]] = field(default_factory=list)
    pending_undos: list[dict[str, Any]] = field(default_factory=list)
    guard: dict[str, Any] = field(default_factory=dict)
    path: Path | None = field(default=None, repr=False)
    _t0: float = field(default_factory=time.monotonic, repr=False)

    def __post_init__(self) -> None:
        if not self.id:
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
            self.id = f"{stamp}-{self.runbook}-{self.stack}"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("path")
        data.pop("_t0")
        return data

    def elapsed(self) -> float:
        return time.monotonic() - self._t0

    def save(self) -> Path:
        """Write atomically (temp file + rename) under the run's lock, merging what the guard or
        `recover` wrote meanwhile (undo outcomes, guard events): a reader never sees half a record
        and no writer loses another's update."""
        directory = runs_dir()
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / f"{self.id}.json"
        with record_lock(self.path):
            try:
                on_disk = json.loads(self.path.read_text())
            except (OSError, json.JSONDecodeError):
                on_disk = {}
            self.pending_undos = merge_undos(self.pending_undos, on_disk.get("pending_undos") or [])
            self.guard = {**(on_disk.get("guard") or {}), **self.guard}
            write_json(self.path, self.to_dict())
        return self.path


# How far an undo entry has got; a merge keeps the furthest, so no writer can undo another's progress.
UNDO_RANK = {"pending": 0, "running": 1, "failed": 2, "done": 3, "discharged": 3, "not-needed": 3}
FINISHED_UNDO = frozenset(status for status, rank in UNDO_RANK.items() if rank == max(UNDO_RANK.values()))


def merge_undos(mine: list[dict[str, Any]], theirs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Entries by id, in registration order; for each, the copy that got furthest (ties: mine)."""
    by_id = {u["id"]: u for u in theirs}
    out = []
    for u in mine:
        other = by_id.pop(u["id"], None)
        if other is not None and UNDO_RANK.get(other["status"], 0) > UNDO_RANK.get(u["status"], 0):
            u.clear()
            u.update(other)
        out.append(u)
    return out + list(by_id.values())


def write_json(path: Path, data: Any) -> None:
    """Atomic: readers see the old file or the new one. The temporary name must not end in `.json`,
    or a reader listing the runs directory (`records`, recover) sees a run twice."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh, indent=2, default=str)
    os.replace(tmp, path)


@contextmanager
def record_lock(path: Path) -> Iterator[None]:
    """An flock beside the record (`.<id>.lock`) held for one read-merge-write."""
    lock = path.with_name(f".{path.stem}.lock")
    with open(lock, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


@contextmanager
def edit_record(path: Path) -> Iterator[dict[str, Any]]:
    """Read-modify-write of a record by another process than its runner (guard, recover)."""
    with record_lock(path):
        data = json.loads(path.read_text())
        yield data
        write_json(path, data)


def records(runbook: str | None = None, stack: str | None = None) -> list[dict[str, Any]]:
    """Saved records, oldest first, filtered by runbook and stack."""
    out = []
    for path in sorted(runs_dir().glob("[!.]*.json")):
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        if runbook and data.get("runbook") != runbook:
            continue
        if stack and data.get("stack") != stack:
            continue
        out.append(data)
    return out


def prune(runbook: str, stack: str, keep: int) -> list[Path]:
    """Delete all but the newest `keep` records of `runbook` on `stack`, with their log and lock
    (a watch writes one per cycle). A record still running, or with an undo not yet done, stays
    whatever its age: recover and the guard need it. Only the records past `keep` are read."""
    directory = runs_dir()
    found = sorted(directory.glob(f"[!.]*-{runbook}-{stack}.json"))
    older = found[:-keep] if keep else found
    gone = []
    for path in older:
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            continue  # being written, or not ours to judge
        if data.get("runbook") != runbook or data.get("stack") != stack or data.get("status") == "running":
            continue
        if any(u.get("status") not in FINISHED_UNDO for u in data.get("pending_undos") or []):
            continue
        for leftover in (path, path.with_suffix(".log"), path.with_name(f".{path.stem}.lock")):
            leftover.unlink(missing_ok=True)
        gone.append(path)
    return gone


def latest(runbook: str | None = None, stack: str | None = None) -> dict[str, Any] | None:
    """The newest record (for `*-status` runbooks that read a run in progress)."""
    found = records(runbook, stack)
    return found[-1] if found else None


def is_alive(record: dict[str, Any]) -> bool:
    """Whether a `running` record's process still exists (a killed run leaves `running` behind)."""
    if record.get("status") != "running":
        return False
    try:
        os.kill(int(record["pid"]), 0)
    except (OSError, KeyError, ValueError):
        return False
    return True
