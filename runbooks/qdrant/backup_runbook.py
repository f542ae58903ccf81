"""runbook.qdrant-backup: snapshot each collection, stream it out, verify it, manifest, retention.

Replaces seed 004's weekly "Qdrant 백업 수행" (a checklist line with no procedure). Exit code 1 when
any collection failed; the others are still backed up.
"""

from __future__ import annotations

from typing import Any

from infra.spec.model import Platform
from runbooks.framework import Options, Run, Runbook, RunbookError, Step
from runbooks.qdrant.state import QdrantRun, client, store


def _health(run: Run) -> dict[str, Any]:
    from runbooks.qdrant import ops

    return ops.health(client(run))


def _location(run: Run) -> dict[str, Any]:
    from runbooks.qdrant.store import open_store

    opened = open_store(run.stack_platform)
    run.cleanup("close the backup location", opened.close)
    opened.ensure_writable("")
    run.state_as(QdrantRun).store = opened
    return {"location": opened.location}


def _backup(run: Run) -> dict[str, Any]:
    from rich.table import Table

    from runbooks.qdrant.backup import backup

    cfg = run.stack_platform.backup
    names = list(run.options.extra.get("collection") or [])
    results = backup(client(run), store(run), names, cfg.keep_last, cfg.keep_on_server, cfg.probe_limit)
    table = Table(title="qdrant backup", title_justify="left")
    for col in ("collection", "result", "points", "size", "snapshot", "seconds"):
        table.add_column(col)
    for r in results:
        mark = "[green]ok[/]" if r.ok else f"[red]failed[/]: {r.error}"
        table.add_row(r.collection, mark, str(r.points_count), str(r.size), r.snapshot, f"{r.seconds:.2f}")
    run.display.print(table)
    run.measure("collections", [r.as_dict() for r in results])
    failed = [r for r in results if not r.ok]
    if failed:
        raise RunbookError(f"{len(failed)} of {len(results)} collections failed: " + "; ".join(r.error for r in failed))
    return {"collections": len(results)}


def build(platform: Platform, options: Options) -> Runbook:
    wanted = ", ".join(options.extra.get("collection") or []) or "every collection"
    keep = platform.backup
    summary = (
        "per collection: snapshot, stream out, sha256 check, manifest, "
        f"keep last {keep.keep_last} (server: {keep.keep_on_server})"
    )
    return Runbook(
        name="qdrant-backup",
        title=f"back up {wanted} of Qdrant to {platform.backup.location}",
        seed="seed 004 weekly checklist 'Qdrant 백업 수행'; seed 003 weekly '백업 검증'",
        exclusive=False,
        state=QdrantRun,
        steps=(
            Step("qdrant health", _health, probe=True, summary="/readyz and /collections answer"),
            Step(
                "backup location",
                _location,
                probe=True,
                summary="the backup directory or S3 bucket exists and is writable",
            ),
            Step("backup", _backup, summary=summary),
        ),
    )
