"""`runbook.recover` and `runbook.abort`: finish what a dead run left, stop one that is running.

recover: runs whose runner and guard are both gone (a host reboot) with durable undos still
outstanding are listed and, with `--yes`, their undos run newest first through the platform the
run acted on. Every undo kind is idempotent and a done undo is never run again, so a second
recover finds nothing and does nothing. It takes the stack lock, so it never races a live run or
guard.

abort: the kill switch. It writes `runs/.guard/<id>.abort` for every live run on the stack; the
run's heartbeat thread sees it within 0.2 s and halts the method, which rolls back.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from infra.errors import ExitCode
from runbooks.framework.display import Display
from runbooks.framework.durable import (
    finish_stranded,
    forget,
    guarded_runs,
    load_platform_snapshot,
    outstanding,
    pid_alive,
    request_abort,
    run_outstanding,
    stranded_runs,
)
from runbooks.framework.errors import BadInput
from runbooks.framework.lock import StackLock
from runbooks.framework.record import runs_dir

__all__ = ["abort", "recover"]


def _check_stack(stack: str | None) -> None:
    """A stack with a stack file or with runs recorded (a test stack); else one line naming it."""
    if stack is not None and not guarded_runs(stack):
        from infra.spec.stackconfig import load_platform

        load_platform(stack)


def _show(display: Display, runs: list[dict[str, Any]]) -> None:
    for r in runs:
        display.info(f"run {r['id']} ({r['runbook']} on {r['stack']}, pid {r['pid']} gone), undos newest first:")
        for u in reversed(outstanding(r)):
            display.info(f"  - {u['name']} [{u['kind']} {u['data']}] ({u['status']})")


def recover(stack: str | None, yes: bool, dry_run: bool, display: Display) -> tuple[int, dict[str, Any]]:
    """(exit code, report) after running the outstanding undos of stranded runs."""
    _check_stack(stack)
    runs = stranded_runs(stack)
    report: dict[str, Any] = {"stranded": [r["id"] for r in runs], "recovered": [], "failed": []}
    if not runs:
        display.info(f"nothing to recover{f' on stack {stack!r}' if stack else ''}")
        return int(ExitCode.OK), report
    _show(display, runs)
    if dry_run:
        display.info("[dim]dry run: nothing was changed[/]")
        return int(ExitCode.OK), report
    if not yes:
        raise BadInput("recover runs the undos shown above: pass --yes (--dry-run only lists them)")
    for stack_name in sorted({r["stack"] for r in runs}):
        _recover_stack(stack_name, [r for r in runs if r["stack"] == stack_name], display, report)
    return (int(ExitCode.ROLLBACK_FAILED) if report["failed"] else int(ExitCode.OK)), report


def _recover_stack(stack: str, runs: list[dict[str, Any]], display: Display, report: dict[str, Any]) -> None:
    lock = StackLock(stack, "recover")
    lock.acquire()  # BadInput naming the holder while a run or guard still acts on the stack
    try:
        for r in stranded_runs(stack):  # again, under the lock
            platform = load_platform_snapshot(r["id"])
            if platform is None:
                from infra.spec.stackconfig import load_platform

                platform = load_platform(stack)
            path = runs_dir() / f"{r['id']}.json"
            ok = run_outstanding(path, platform, "recover", display.info)
            if ok:
                finish_stranded(path, "rolled-back", 1, "runner and guard gone; undone by runbook.recover")
                forget(r["id"])
                report["recovered"].append(r["id"])
            else:
                finish_stranded(path, "rollback-failed", 2, "runbook.recover: an undo failed (see pending_undos)")
                report["failed"].append(r["id"])
            display.info(f"{'✓' if ok else '✗'} run {r['id']}")
    finally:
        lock.release()


def abort(stack: str, reason: str, wait_s: float, display: Display) -> tuple[int, dict[str, Any]]:
    """Ask every live run on `stack` to halt and roll back; wait up to `wait_s` for them to finish."""
    _check_stack(stack)
    live = [r for r in guarded_runs(stack) if r.get("status") == "running" and pid_alive(int(r.get("pid", 0)))]
    report: dict[str, Any] = {"aborted": [r["id"] for r in live], "finished": {}}
    if not live:
        display.info(f"no run in progress on stack {stack!r}")
        return int(ExitCode.OK), report
    for r in live:
        request_abort(r["id"], reason or "runbook.abort")
        display.info(f"abort requested: run {r['id']} ({r['runbook']}, pid {r['pid']})")
    deadline = time.monotonic() + wait_s
    pending = {r["id"] for r in live}
    while pending and time.monotonic() < deadline:
        for rid in list(pending):
            data = _read(runs_dir() / f"{rid}.json")
            if data.get("status") != "running":
                report["finished"][rid] = data.get("status")
                display.info(f"run {rid}: {data.get('status')}")
                pending.discard(rid)
        time.sleep(0.2)
    if pending:
        display.error(f"still running after {wait_s:g} s: {', '.join(sorted(pending))}")
        return int(ExitCode.FAILED), report
    return int(ExitCode.OK), report


def _read(path: Path) -> dict[str, Any]:
    import json

    try:
        return dict(json.loads(path.read_text()))
    except (OSError, ValueError):
        return {}
