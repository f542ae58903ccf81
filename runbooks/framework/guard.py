"""The guard: a process outside the runner's session that carries out its durable undos if it dies.

`python -m runbooks.framework.guard <record>` is started by the runner (start_new_session, so a
SIGHUP to the terminal's process group, a Ctrl-C or the runner's death does not reach it) before
the first step. It holds the runner's stack lock (the inherited descriptor), watches the runner's
pid and heartbeat file (touched every second by `Heartbeat`) and each pending undo's deadline:

- runner gone (pid dead or a zombie, or heartbeat older than HEARTBEAT_TIMEOUT_S): it runs every
  outstanding undo newest first, records what it did and closes the record (`rolled-back`, or
  `rollback-failed` for `runbook.recover` to retry);
- a deadline passed while the runner lives: it asks the runner to abort (the kill-switch file)
  and runs that undo itself (undos are idempotent, the runner's own rollback does no harm);
- the run finished: it exits.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runbooks.framework.durable import (
    abort_reason,
    finish_stranded,
    forget,
    guard_dir,
    heartbeat_path,
    load_platform_snapshot,
    outstanding,
    pid_alive,
    request_abort,
    run_outstanding,
    save_platform_snapshot,
)
from runbooks.framework.record import RUNS_ENV, edit_record, now_iso, runs_dir

if TYPE_CHECKING:
    from runbooks.framework.lock import StackLock
    from runbooks.framework.runner import Run

__all__ = ["HEARTBEAT_S", "HEARTBEAT_TIMEOUT_S", "Heartbeat", "main", "spawn_guard"]

HEARTBEAT_S = 1.0
HEARTBEAT_TIMEOUT_S = 5.0  # a runner blocked this long (SIGSTOP, a hung host) counts as gone
POLL_S = 0.2
ROOT = Path(__file__).resolve().parents[2]


class Heartbeat:
    """A daemon thread in the runner: touches the heartbeat file every second and obeys the kill
    switch (`runbook.abort` writes `<id>.abort`) within POLL_S."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.path = heartbeat_path(run.record.id)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="heartbeat", daemon=True)

    def start(self) -> None:
        self.path.touch()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        last = 0.0
        while not self._stop.wait(POLL_S):
            if time.monotonic() - last >= HEARTBEAT_S:
                self.path.touch()
                last = time.monotonic()
            reason = abort_reason(self.run.record.id)
            if reason is not None:
                self.run.halt(f"aborted ({reason})")


def spawn_guard(run: Run, lock: StackLock | None) -> int:
    """Start the guard in its own session; it inherits the stack lock so the stack stays locked
    while it may still be rolling back."""
    record = run.record
    path = record.save()
    save_platform_snapshot(record.id, run.stack_platform)
    log = (guard_dir() / f"{record.id}.guard.log").open("a")
    locked = lock.fileno() if lock is not None else None
    fds = (locked,) if locked is not None else ()
    env = {**os.environ, RUNS_ENV: str(runs_dir()), "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "runbooks.framework.guard", str(path)],
        start_new_session=True,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        pass_fds=fds,
        env=env,
        cwd=ROOT,
    )
    log.close()
    record.guard = {"pid": proc.pid, "started": now_iso(), "log": log.name}
    record.save()
    return proc.pid


def _say(text: str) -> None:
    print(f"{now_iso()} {text}", flush=True)


def _runner_gone(data: dict[str, Any]) -> str | None:
    """Why the runner counts as gone, or None while it lives."""
    pid = int(data.get("pid", 0))
    if not pid_alive(pid):
        return f"runner pid {pid} is gone"
    beat = heartbeat_path(data["id"])
    try:
        age = time.time() - beat.stat().st_mtime
    except OSError:
        return None
    if age > HEARTBEAT_TIMEOUT_S:
        return f"runner pid {pid} stopped heart-beating ({age:.1f} s)"
    return None


def _event(path: Path, **fields: Any) -> None:
    with edit_record(path) as data:
        data.setdefault("guard", {}).update(fields)


def _take_over(path: Path, data: dict[str, Any], why: str) -> int:
    platform = load_platform_snapshot(data["id"])
    if platform is None:
        _say(f"{why}; no platform snapshot: leaving the undos to `invoke runbook.recover`")
        return 3
    _say(f"{why}; running {len(outstanding(data))} undo(s)")
    _event(path, runner_gone=why, took_over=now_iso(), took_over_epoch=time.time())
    ok = run_outstanding(path, platform, "guard", _say)
    _event(path, finished=now_iso(), finished_epoch=time.time())
    step = next((s["name"] for s in data.get("steps", []) if s.get("status") == "running"), None)
    where = f" during step {step!r}" if step else ""
    if ok:
        finish_stranded(path, "rolled-back", 1, f"{why}{where}; the guard ran its undos")
        forget(data["id"])
    else:
        finish_stranded(path, "rollback-failed", 2, f"{why}{where}; an undo failed: run `invoke runbook.recover`")
    return 0 if ok else 2


def _overdue(data: dict[str, Any]) -> list[dict[str, Any]]:
    now = time.time()
    return [u for u in outstanding(data) if u.get("deadline") and u["deadline"] < now and u["status"] == "pending"]


def main(record_path: str) -> int:
    path = Path(record_path)
    _say(f"guard pid {os.getpid()} watching {path.name}")
    while True:
        if not path.exists():
            _say(f"{path} is gone (its runs directory was removed): nothing left to guard")
            return 0
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            time.sleep(POLL_S)
            continue
        if data.get("status") != "running":
            _say(f"run finished ({data.get('status')}); guard exits")
            return 0
        why = _runner_gone(data)
        if why is not None:
            return _take_over(path, data, why)
        late = _overdue(data)
        if late:
            names = ", ".join(u["name"] for u in late)
            if abort_reason(data["id"]) is None:
                request_abort(data["id"], f"undo deadline passed: {names}")
            platform = load_platform_snapshot(data["id"])
            if platform is not None:
                _event(path, deadline_passed=names, at=now_iso())
                _run_late(path, platform, late)
        time.sleep(POLL_S)


def _run_late(path: Path, platform: Any, late: list[dict[str, Any]]) -> None:
    from runbooks.framework.durable import execute_entry

    for entry in late:
        _say(f"guard: deadline passed: {entry['name']}")
        try:
            execute_entry(platform, entry)
        except Exception as err:
            _say(f"guard: {entry['name']} failed: {type(err).__name__}: {err}")
            continue
        with edit_record(path) as data:
            for u in data.get("pending_undos") or []:
                if u["id"] == entry["id"] and u["status"] == "pending":
                    u.update(status="done", by="guard (deadline)", finished=now_iso())


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
