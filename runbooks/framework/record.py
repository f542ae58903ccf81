"""The JSON run record under `runs/`: steps, timings, measurements, config changes and outcome.

It is rewritten atomically after every change, so it doubles as the state file of a run in
progress (`status: running`, `phase`, `percent`): another process reads it with `latest()`.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
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
        """Write atomically (temp file + rename): a reader never sees half a record."""
        directory = runs_dir()
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / f"{self.id}.json"
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".json")
        with os.fdopen(fd, "w") as fh:
            json.dump(self.to_dict(), fh, indent=2, default=str)
        os.replace(tmp, self.path)
        return self.path


def records(runbook: str | None = None, stack: str | None = None) -> list[dict[str, Any]]:
    """Saved records, oldest first, filtered by runbook and stack."""
    out = []
    for path in sorted(runs_dir().glob("*.json")):
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
