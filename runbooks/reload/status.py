"""`runbook.reload-status`: the state of the latest reload of a stack, read from its run record.

The record is rewritten atomically at every phase change, so this can run while a reload runs.
States are seed 002's: warming_up (loading and warm-up), ready, switching, completed, failed
(plus `loading` and `cleanup`, which seed 002 counts inside warm-up and switch).
"""

from __future__ import annotations

from typing import Any

from runbooks.framework.record import is_alive, records

FINAL = {"ok": "completed", "rolled-back": "failed", "failed": "failed", "rollback-failed": "failed"}


def reload_status(stack: str, runbook: str = "reload") -> dict[str, Any]:
    """{state, progress_percent, message, started_at, completed_at, error, ...} of the newest run."""
    acted = [r for r in records(runbook, stack) if r.get("status") not in ("dry-run", "refused")]
    rec = acted[-1] if acted else None  # a dry run or a refused run reloaded nothing
    if rec is None:
        return {"state": "idle", "progress_percent": None, "message": f"no {runbook} has run on stack {stack!r}"}
    status = rec.get("status")
    if status == "running":
        state = rec.get("phase") or "loading"
        if not is_alive(rec):
            state = "failed"
    else:
        state = FINAL.get(status or "", status or "unknown")
    current = next((s for s in rec.get("steps", []) if s.get("status") == "running"), None)
    last_done = [s for s in rec.get("steps", []) if s.get("status") in ("ok", "failed", "interrupted")]
    if current:
        message = f"step {current['name']}"
    elif last_done:
        message = f"step {last_done[-1]['name']}: {last_done[-1]['status']}"
    else:
        message = status or ""
    if status == "running" and state == "failed":
        message = f"the run (pid {rec.get('pid')}) died in {message}; check the containers (runbook.health)"
    return {
        "state": state,
        "progress_percent": 100.0 if state == "completed" else rec.get("percent"),
        "message": message,
        "started_at": rec.get("started"),
        "completed_at": rec.get("finished"),
        "error": rec.get("error"),
        "record": rec.get("id"),
        "service": (rec.get("options") or {}).get("service"),
        "config_changes": [c for change in rec.get("config_changes", []) for c in change.get("changes", [])],
    }
