"""`invoke runbook.qdrant-backup` and `invoke runbook.qdrant-restore` (registered in runbooks/tasks.py).

Heavy imports stay inside the task bodies so `invoke --list` stays fast.
"""

from __future__ import annotations

from invoke import Context

from infra.cli.guard import task
from runbooks.help import DRY_RUN, JSON

COMMON = {
    "stack": "stack name: stacks/Pulumi.<stack>.yaml (default: local); QDRANT_URL overrides its Qdrant address",
    "dry-run": DRY_RUN,
    "yes": "allow destructive steps (hold rag, recover, recreate) without asking",
    "json": JSON,
}


@task(
    name="qdrant-backup",
    iterable=["collection"],
    help={**COMMON, "collection": "collection to back up (repeatable; default: every collection)"},
)
def qdrant_backup(
    c: Context,
    stack: str = "local",
    collection: list[str] | None = None,
    dry_run: bool = False,
    yes: bool = False,
    json: bool = False,
) -> None:
    """Snapshot Qdrant collections to the backup location, verify sha256, write manifests, apply retention."""
    from runbooks.cli import launch, options
    from runbooks.qdrant.backup_runbook import build

    launch(build, options(stack, None, dry_run, yes, json, collection=list(collection or [])))


@task(
    name="qdrant-restore",
    help={
        **COMMON,
        "collection": "collection to restore (default: the only one with backups; with --reindex: default)",
        "snapshot": "backup to restore: latest (default) or the path of a snapshot file with its manifest",
        "reindex": "no usable snapshot: recreate the collection and reindex through rag POST /index",
    },
)
def qdrant_restore(
    c: Context,
    stack: str = "local",
    collection: str | None = None,
    snapshot: str = "latest",
    reindex: bool = False,
    dry_run: bool = False,
    yes: bool = False,
    json: bool = False,
) -> None:
    """Restore a Qdrant collection from a verified backup (rollback on failure), or reindex it via rag."""
    from runbooks.cli import launch, options
    from runbooks.qdrant.restore_runbook import build

    extra = {"collection": collection, "snapshot": snapshot, "reindex": reindex}
    launch(build, options(stack, None, dry_run, yes, json, **extra))
