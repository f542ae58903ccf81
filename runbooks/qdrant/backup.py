"""Back up collections: snapshot, stream to the backup location, verify, manifest, retention.

The manifest's points count must describe the snapshot, so the count is taken before and after
the snapshot is created; if writers changed it in between, the snapshot is dropped and taken again
(a few times), and the collection fails rather than getting a manifest that would fail every
restore verification.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

from runbooks.qdrant import ops
from runbooks.qdrant.connection import Qdrant
from runbooks.qdrant.errors import QdrantError, QdrantUnreachable
from runbooks.qdrant.manifest import Manifest
from runbooks.qdrant.store import Store

STABLE_ATTEMPTS = 3


@dataclass
class BackupResult:
    """One row of the report table."""

    collection: str
    ok: bool = False
    snapshot: str = ""
    size: int = 0
    points_count: int = 0
    sha256: str = ""
    seconds: float = 0.0
    pruned_local: list[str] = field(default_factory=list)
    pruned_server: list[str] = field(default_factory=list)
    error: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _consistent_snapshot(q: Qdrant, name: str, probe_limit: int) -> tuple[ops.Snapshot, ops.CollectionState, Any]:
    for _ in range(STABLE_ATTEMPTS):
        before = ops.describe(q, name)
        probe = ops.take_probe(q, name, probe_limit)
        snap = ops.create_snapshot(q, name)
        after = ops.describe(q, name)
        if after.points_count == before.points_count:
            return snap, before, probe
        ops.delete_snapshot(q, name, snap.name)
    raise QdrantError(
        f"collection {name!r} changed while its snapshot was taken ({STABLE_ATTEMPTS} tries): pause its writers "
        "(the rag service) and run the backup again"
    )


def copy_collection(q: Qdrant, store: Store, name: str, probe_limit: int, pre_restore: bool = False) -> Manifest:
    """A consistent snapshot of `name`, streamed to the store (sha256-checked) with its manifest:
    a backup, or (`pre_restore`) the copy a restore takes of what Qdrant holds before it changes it."""
    store.ensure_writable(name, pre_restore=pre_restore)
    snap, state, probe = _consistent_snapshot(q, name, probe_limit)
    sha = ops.download(q, store, name, snap, pre_restore=pre_restore)
    manifest = Manifest(
        collection=name,
        snapshot=snap.name,
        sha256=sha,
        size=snap.size,
        created_at=Manifest.now(),
        qdrant_url=q.url,
        points_count=state.points_count,
        config=state.config,
        probe=probe,
    )
    store.write_manifest(manifest, pre_restore=pre_restore)
    return manifest


def backup_collection(
    q: Qdrant, store: Store, name: str, keep_last: int, keep_on_server: int, probe_limit: int
) -> BackupResult:
    """Back up one collection; errors are returned in the result (the others still run)."""
    result = BackupResult(name)
    started = time.monotonic()
    try:
        m = copy_collection(q, store, name, probe_limit)
        result.snapshot, result.size, result.sha256, result.points_count = m.snapshot, m.size, m.sha256, m.points_count
        result.pruned_local = store.prune(name, keep_last)
        result.pruned_server = ops.prune_server(q, name, keep_on_server)
        result.ok = True
    except QdrantUnreachable:
        raise  # the next collections would only spend the same retries
    except QdrantError as err:
        result.error = str(err)
    result.seconds = round(time.monotonic() - started, 3)
    return result


def backup(
    q: Qdrant, store: Store, names: list[str] | None, keep_last: int, keep_on_server: int, probe_limit: int
) -> list[BackupResult]:
    """Back up `names` (all collections when None/empty); unknown names fail before anything runs."""
    existing = ops.collection_names(q)
    wanted = list(names) if names else existing
    unknown = [n for n in wanted if n not in existing]
    if unknown:
        raise QdrantError(
            f"no collection {', '.join(map(repr, unknown))} in Qdrant at {q.url}; collections: "
            f"{', '.join(existing) or 'none'}"
        )
    return [backup_collection(q, store, n, keep_last, keep_on_server, probe_limit) for n in wanted]
