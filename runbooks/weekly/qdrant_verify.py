"""Seed 004's 'Qdrant 백업 수행' and seed 003's '백업 검증 (복구 테스트)': a backup taken now, then
proved by restoring it.

Per collection: runbook.qdrant-backup's own backup (consistent snapshot, sha256-checked download,
manifest, retention), then that file uploaded into a scratch collection (`weekly-verify-<name>-<t>`)
and compared with the manifest: points count, vectors config and the probe query's ids. The
scratch collection is removed afterwards whatever happened; the collection itself is never
touched. n/a where the stack has no Qdrant (and no QDRANT_URL points at one).
"""

from __future__ import annotations

import os
import time
from typing import Any

from infra.spec.model import Platform
from runbooks.daily.findings import Finding
from runbooks.qdrant.errors import QdrantError, VerificationFailed

__all__ = ["HOW", "scratch_name", "verify_backups"]

HOW = "qdrant-backup of the collection, upload-recover into a scratch collection, count + probe query vs manifest"


def scratch_name(prefix: str, collection: str, now: float | None = None) -> str:
    return f"{prefix}{collection}-{int(now if now is not None else time.time())}"


def has_qdrant(platform: Platform) -> bool:
    svc = platform.services.get("qdrant")
    return bool(os.environ.get("QDRANT_URL", "").strip()) or (svc is not None and svc.enabled)


def _remove(q: Any, name: str) -> str | None:
    """Delete the scratch collection; the reason when it is still there."""
    from runbooks.qdrant import ops

    try:
        q.call(f"delete scratch collection {name!r}", q.client.delete_collection, name)
        return f"scratch collection {name!r} still exists after delete" if ops.exists(q, name) else None
    except QdrantError as err:
        return str(err)


def _restore_into_scratch(platform: Platform, q: Any, store: Any, manifest: Any, scratch: str) -> Finding:
    from runbooks.qdrant import ops

    name = manifest.collection
    normal = f"restored count = {manifest.points_count}, probe ids equal (manifest)"
    data: dict[str, Any] = {"snapshot": manifest.snapshot, "points_backup": manifest.points_count, "scratch": scratch}
    try:
        ops.upload_recover(q, scratch, store.local_file(manifest), manifest.sha256)
        data["green_after_s"] = ops.wait_green(q, scratch, platform.backup.green_timeout_s)
        verified = ops.verify(q, scratch, manifest)
        data |= {"points_restored": verified["points_count"], "probe_ids": verified["probe_ids"]}
        probe = f", probe query returned the same {len(verified['probe_ids'])} ids" if manifest.probe else ""
        detail = (f"backup {manifest.snapshot} restored into a scratch collection: {verified['points_count']} of "
                  f"{manifest.points_count} points{probe}")  # fmt: skip
        return Finding("backup-restore", name, "ok", detail, data, HOW, normal)
    except VerificationFailed as err:
        try:
            data["points_restored"] = ops.describe(q, scratch).points_count
        except QdrantError:
            data["points_restored"] = None
        got = data["points_restored"]
        detail = f"restore test failed: {got} of {manifest.points_count} points came back; {err}"
        return Finding("backup-restore", name, "fail", detail, data, HOW, normal)
    except QdrantError as err:
        return Finding("backup-restore", name, "fail", f"restore test failed: {err}", data, HOW, normal)
    finally:
        left = _remove(q, scratch)
        if left:
            data["scratch_left"] = left


def _one(platform: Platform, q: Any, store: Any, name: str) -> Finding:
    from runbooks.qdrant.backup import backup_collection

    cfg = platform.backup
    result = backup_collection(q, store, name, cfg.keep_last, cfg.keep_on_server, cfg.probe_limit)
    if not result.ok:
        return Finding("backup-restore", name, "fail", f"backup failed: {result.error}", result.as_dict(), HOW)
    manifest = next(m for m in store.manifests(name) if m.snapshot == result.snapshot)
    scratch = scratch_name(platform.weekly_check.scratch_prefix, name)
    found = _restore_into_scratch(platform, q, store, manifest, scratch)
    found.data["backup"] = {"size": result.size, "sha256": result.sha256, "seconds": result.seconds}
    if "scratch_left" in found.data:
        left = found.data["scratch_left"]
        return Finding(found.check, name, "fail", f"{found.detail}; {left}", found.data, HOW, found.normal)
    return found


def verify_backups(platform: Platform) -> list[Finding]:
    """Back up and restore-test each collection (`weeklyCheck.collections`, default all)."""
    if not has_qdrant(platform):
        return [Finding("backup-restore", "-", "n/a", f"no qdrant in stack {platform.stack!r} (and no QDRANT_URL)")]

    try:
        return _all(platform)
    except QdrantError as err:  # unreachable, or the backup location refused: the item fails, the run goes on
        return [Finding("backup-restore", "-", "fail", str(err), {}, HOW)]


def _all(platform: Platform) -> list[Finding]:
    from runbooks.qdrant import ops
    from runbooks.qdrant.connection import Qdrant
    from runbooks.qdrant.store import open_store

    with Qdrant.for_platform(platform) as q:
        store = open_store(platform)
        try:
            prefix = platform.weekly_check.scratch_prefix
            names = platform.weekly_check.collections or [
                n for n in ops.collection_names(q) if not n.startswith(prefix)
            ]
            if not names:
                return [Finding("backup-restore", "-", "n/a", f"Qdrant at {q.url} has no collections to back up")]
            return [_one(platform, q, store, n) for n in names]
        finally:
            store.close()
