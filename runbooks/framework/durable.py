"""Durable undos: a rollback written down before the step acts, that another process can carry out.

A runbook's in-process rollbacks are closures: they die with the runner. A durable undo is
also a *kind* (a name in `KINDS`) with JSON data, saved in the run record's `pending_undos`
before the destructive call, so the guard (runbooks/framework/guard.py) or `runbook.recover`
can run it through the Target when the runner is gone. Every kind is idempotent: starting a
running container or expiring an expired silence does nothing, so the runner, the guard and
`recover` may all run one undo without harm.

Files beside the records (runs/.guard/): `<id>.platform.json` (the platform the run acted on,
so a guard needs no stack file), `<id>.heartbeat` (touched every second by the runner),
`<id>.abort` (a kill switch request), `<id>.guard.log` (the guard's own output).
"""

from __future__ import annotations

import importlib
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from infra.spec.model import Platform
from runbooks.framework.record import edit_record, now_iso, runs_dir, write_json

__all__ = [
    "KINDS",
    "OUTSTANDING",
    "abort_path",
    "execute_entry",
    "guard_dir",
    "heartbeat_path",
    "kind",
    "load_platform_snapshot",
    "new_entry",
    "outstanding",
    "pid_alive",
    "run_outstanding",
    "save_platform_snapshot",
    "stranded_runs",
]

# Entry statuses that still need doing once their runner is gone.
OUTSTANDING = ("pending", "running", "failed")
KINDS: dict[str, Callable[[Platform, dict[str, Any]], None]] = {}
# The undo kinds act on hosts through the runbooks' targets, probes and reload placement, which
# are built on this framework: the framework loads their module by name (a plugin, as invoke
# loads tasks.py), so it never imports what is built on it.
KINDS_MODULE = "runbooks.undo_kinds"


def _load_kinds() -> None:
    importlib.import_module(KINDS_MODULE)


def kind(name: str) -> Callable[[Callable[[Platform, dict[str, Any]], None]], Callable[..., None]]:
    """Register an undo kind: `fn(platform, data)`, idempotent, raising on failure."""

    def register(fn: Callable[[Platform, dict[str, Any]], None]) -> Callable[..., None]:
        KINDS[name] = fn
        return fn

    return register


def guard_dir() -> Path:
    path = runs_dir() / ".guard"
    path.mkdir(parents=True, exist_ok=True)
    return path


def heartbeat_path(run_id: str) -> Path:
    return guard_dir() / f"{run_id}.heartbeat"


def abort_path(run_id: str) -> Path:
    return guard_dir() / f"{run_id}.abort"


def save_platform_snapshot(run_id: str, platform: Platform) -> Path:
    path = guard_dir() / f"{run_id}.platform.json"
    path.write_text(platform.model_dump_json())
    return path


def load_platform_snapshot(run_id: str) -> Platform | None:
    path = guard_dir() / f"{run_id}.platform.json"
    if not path.is_file():
        return None
    return Platform.model_validate_json(path.read_text())


def new_entry(
    name: str, kind_name: str, data: dict[str, Any], deadline_s: float | None, always: bool
) -> dict[str, Any]:
    _load_kinds()
    if kind_name not in KINDS:
        raise ValueError(f"unknown undo kind {kind_name!r}; known: {', '.join(sorted(KINDS))}")
    return {
        "id": f"u{time.monotonic_ns()}",
        "name": name,
        "kind": kind_name,
        "data": data,
        "always": always,
        "registered": now_iso(),
        "deadline": (time.time() + deadline_s) if deadline_s is not None else None,
        "deadline_s": deadline_s,
        "status": "pending",
        "by": None,
        "error": None,
    }


def pid_alive(pid: int) -> bool:
    """The process exists and is not a zombie (a SIGKILLed child not yet reaped is a zombie)."""
    try:
        os.kill(pid, 0)
    except (OSError, ValueError):
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def outstanding(record: dict[str, Any]) -> list[dict[str, Any]]:
    return [u for u in record.get("pending_undos") or [] if u.get("status") in OUTSTANDING]


def _process_gone(record: dict[str, Any]) -> bool:
    guard_pid = (record.get("guard") or {}).get("pid")
    runner_alive = record.get("status") == "running" and pid_alive(int(record.get("pid", 0)))
    return not runner_alive and not (guard_pid and pid_alive(int(guard_pid)))


def guarded_runs(stack: str | None = None) -> list[dict[str, Any]]:
    """Records of the runs that still have guard files (in progress, or left with undos): the
    index that spares a scan of every record under runs/ (a failover record holds every sample)."""
    out = []
    for snap in sorted(guard_dir().glob("*.platform.json")):
        path = runs_dir() / f"{snap.name.removesuffix('.platform.json')}.json"
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        if stack is None or data.get("stack") == stack:
            out.append(data)
    return out


def stranded_runs(stack: str | None = None) -> list[dict[str, Any]]:
    """Runs with undos outstanding whose runner and guard are both gone (what `recover` handles)."""
    return [r for r in guarded_runs(stack) if outstanding(r) and _process_gone(r)]


def forget(run_id: str) -> None:
    """Remove a finished run's guard files once nothing is outstanding (it leaves the index)."""
    for suffix in (".platform.json", ".heartbeat", ".abort"):
        (guard_dir() / f"{run_id}{suffix}").unlink(missing_ok=True)


def execute_entry(platform: Platform, entry: dict[str, Any]) -> None:
    _load_kinds()
    KINDS[entry["kind"]](platform, entry["data"])


def run_outstanding(path: Path, platform: Platform, by: str, say: Callable[[str], None]) -> bool:
    """Run a record's outstanding undos newest first, journalling each; True when all worked."""
    data = json.loads(path.read_text())
    ok = True
    for entry in reversed(outstanding(data)):
        _mark(path, entry["id"], status="running", by=by, started=now_iso())
        say(f"{by}: {entry['name']} ({entry['kind']})")
        try:
            execute_entry(platform, entry)
        except Exception as err:
            ok = False
            _mark(path, entry["id"], status="failed", error=f"{type(err).__name__}: {err}", finished=now_iso())
            say(f"{by}: {entry['name']} failed: {type(err).__name__}: {err}")
            continue
        _mark(path, entry["id"], status="done", error=None, finished=now_iso())
    return ok


def _mark(path: Path, entry_id: str, **fields: Any) -> None:
    with edit_record(path) as data:
        for u in data.get("pending_undos") or []:
            if u["id"] == entry_id:
                u.update(fields)


def finish_stranded(path: Path, status: str, code: int, error: str) -> None:
    """Close the record of a run whose runner is gone (only the guard or recover call this)."""
    with edit_record(path) as data:
        data.update(status=status, exit_code=code, error=error, finished=now_iso())


def request_abort(run_id: str, reason: str) -> Path:
    path = abort_path(run_id)
    write_json(path, {"reason": reason, "at": now_iso(), "by_pid": os.getpid()})
    return path


def abort_reason(run_id: str) -> str | None:
    path = abort_path(run_id)
    try:
        return str(json.loads(path.read_text()).get("reason") or "abort requested")
    except (OSError, json.JSONDecodeError):
        return None


__all__ += ["abort_reason", "finish_stranded", "forget", "guarded_runs", "request_abort"]
