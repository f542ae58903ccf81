"""Scenario helpers shared by the double tests and the live switch: run the runbooks, read results."""

from __future__ import annotations

from typing import Any

from infra.spec.model import Platform
from runbooks.framework import Options, execute
from runbooks.framework.display import Display
from runbooks.framework.record import RunRecord
from runbooks.qdrant import backup_runbook, restore_runbook
from runbooks.qdrant.s3store import S3Store
from runbooks.qdrant.store import LocalStore, Store, open_store


def run_backup(platform: Platform, *collections: str, **opts: Any) -> RunRecord:
    options = Options(stack=platform.stack, json=True, extra={"collection": list(collections)}, **opts)
    return execute(backup_runbook.build(platform, options), options, platform, display=Display(quiet=True))


def run_restore(platform: Platform, target: Any, collection: str, **extra: Any) -> RunRecord:
    dry_run = extra.pop("dry_run", False)
    options = Options(stack=platform.stack, yes=True, json=True, dry_run=dry_run,
                      extra={"collection": collection, **extra})  # fmt: skip
    runbook = restore_runbook.build(platform, options, target=target)
    return execute(runbook, options, platform, display=Display(quiet=True))


def store(platform: Platform) -> Store:
    return open_store(platform)


def read_backup(st: Store, collection: str, name: str) -> bytes:
    """The stored bytes of a backup, from either store."""
    if isinstance(st, S3Store):
        return st.client.get_object(Bucket=st.bucket, Key=st.key(collection, name))["Body"].read()
    assert isinstance(st, LocalStore)
    return (st.directory(collection) / name).read_bytes()


def write_backup(st: Store, collection: str, name: str, data: bytes) -> None:
    """Overwrite a stored backup (to corrupt it), in either store."""
    if isinstance(st, S3Store):
        st.client.put_object(Bucket=st.bucket, Key=st.key(collection, name), Body=data)
    else:
        assert isinstance(st, LocalStore)
        (st.directory(collection) / name).write_bytes(data)


def stored(st: Store, collection: str) -> list[str]:
    """Everything stored for the collection (outside pre-restore/): files, objects, unfinished uploads."""
    if isinstance(st, S3Store):
        base = st.key(collection, "")
        pages = st.client.get_paginator("list_objects_v2").paginate(Bucket=st.bucket, Prefix=base, Delimiter="/")
        keys = [o["Key"][len(base) :] for page in pages for o in page.get("Contents", [])]
        uploads = st.client.list_multipart_uploads(Bucket=st.bucket).get("Uploads", [])
        return sorted(keys + [f"unfinished upload {u['Key']}" for u in uploads])
    assert isinstance(st, LocalStore)
    directory = st.directory(collection)
    return sorted(p.name for p in directory.iterdir() if p.is_file()) if directory.is_dir() else []


def step(record: RunRecord, name: str) -> Any:
    return next(s for s in record.steps if s.name == name)
