"""Restore operations: a verified copy of the current state first, then recover, wait, verify.

The seed's recovery (`rm -rf` the data, then reindex) destroys the only copy before it has another.
Here the collection Qdrant still holds is snapshotted and downloaded (sha256-checked) to the
backup location's `pre-restore/` before anything changes, so a restore that fails verification,
breaks, or is interrupted goes back to exactly what was there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from runbooks.qdrant import ops
from runbooks.qdrant.backup import copy_collection
from runbooks.qdrant.connection import Qdrant
from runbooks.qdrant.manifest import Manifest
from runbooks.qdrant.store import Store

KEEP_PRE_RESTORE = 3


@dataclass(frozen=True)
class Copy:
    """A verified snapshot in the backup location, its manifest, and where it is (path or s3:// URI)."""

    manifest: Manifest
    where: str


def pre_restore_copy(q: Qdrant, store: Store, name: str, probe_limit: int) -> Copy | None:
    """Snapshot what Qdrant holds now and keep it locally; None when the collection does not exist."""
    if not ops.exists(q, name):
        return None
    manifest = copy_collection(q, store, name, probe_limit, pre_restore=True)
    ops.delete_snapshot(q, name, manifest.snapshot)  # the verified copy lives in the backup location now
    store.prune(name, KEEP_PRE_RESTORE, pre_restore=True)
    return Copy(manifest, store.uri(name, manifest.snapshot, pre_restore=True))


def recover_and_verify(q: Qdrant, store: Store, name: str, copy: Copy, green_timeout_s: float) -> dict[str, Any]:
    """Upload-recover `copy`, wait for green, verify against its manifest (raises VerificationFailed)."""
    ops.upload_recover(q, name, store.local_file(copy.manifest, pre_restore=True), copy.manifest.sha256)
    waited = ops.wait_green(q, name, green_timeout_s)
    verified = ops.verify(q, name, copy.manifest)
    return {"snapshot": copy.manifest.snapshot, "green_after_s": waited, **verified}
