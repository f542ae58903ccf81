"""Single Qdrant operations the runbooks are made of, each retried through `Qdrant.call`.

Snapshot files are streamed with httpx (never held in memory) and hashed while they stream;
uploads go to `/snapshots/upload` with `priority=snapshot` and the sha256, so Qdrant itself
refuses a file that changed on the way.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runbooks.qdrant.connection import Qdrant
from runbooks.qdrant.errors import ChecksumMismatch, QdrantError, VerificationFailed
from runbooks.qdrant.manifest import Manifest, Probe
from runbooks.qdrant.store import Store

CHUNK = 1 << 20


@dataclass(frozen=True)
class Snapshot:
    name: str
    size: int
    checksum: str | None
    creation_time: str | None


@dataclass(frozen=True)
class CollectionState:
    name: str
    status: str
    points_count: int
    config: dict[str, Any]


def health(q: Qdrant) -> dict[str, Any]:
    """`/readyz` then `/collections`: Qdrant is up, ready, and answers the API."""

    def readyz() -> str:
        resp = q.http.get("/readyz", timeout=q.timeout_s)
        resp.raise_for_status()
        return resp.text

    ready = q.call("GET /readyz", readyz)
    names = collection_names(q)
    return {"qdrant": q.url, "readyz": ready.strip(), "collections": names}


def collection_names(q: Qdrant) -> list[str]:
    result = q.call("list collections", q.client.get_collections)
    return sorted(c.name for c in result.collections)


def exists(q: Qdrant, name: str) -> bool:
    return q.call(f"check collection {name!r}", q.client.collection_exists, name)


def describe(q: Qdrant, name: str) -> CollectionState:
    """Status and config from the collection info, and the exact points count."""
    info = q.call(f"get collection {name!r}", q.client.get_collection, name)
    count = q.call(f"count points of {name!r}", q.client.count, name, exact=True).count
    config = info.config.model_dump(mode="json", exclude_none=True)
    return CollectionState(name, str(info.status.value), count, config)


def take_probe(q: Qdrant, name: str, limit: int) -> Probe | None:
    """A stored vector and the ids an exact nearest-neighbour query with it returns (None if empty)."""
    records, _ = q.call(f"scroll {name!r}", q.client.scroll, name, limit=1, with_vectors=True, with_payload=False)
    if not records or records[0].vector is None:
        return None
    vector: Any = records[0].vector
    using = None
    if isinstance(vector, dict):
        dense = {k: v for k, v in vector.items() if isinstance(v, list) and v and isinstance(v[0], int | float)}
        if not dense:
            return None
        using = sorted(dense)[0]
        vector = dense[using]
    if not (isinstance(vector, list) and vector and isinstance(vector[0], int | float)):
        return None  # multivectors and sparse vectors: no probe, the count still verifies
    floats = [float(x) for x in vector]
    return Probe(vector=floats, using=using, limit=limit, ids=run_probe(q, name, floats, using, limit))


def run_probe(q: Qdrant, name: str, vector: list[float], using: str | None, limit: int) -> list[int | str]:
    from qdrant_client import models

    result = q.call(
        f"probe query on {name!r}",
        q.client.query_points,
        name,
        query=vector,
        using=using,
        limit=limit,
        search_params=models.SearchParams(exact=True),
        with_payload=False,
    )
    return [p.id if isinstance(p.id, int | str) else str(p.id) for p in result.points]  # a UUID as Qdrant writes it


def create_snapshot(q: Qdrant, name: str) -> Snapshot:
    """A snapshot on the server (`wait=true`: returns when the file is complete)."""
    desc = q.call(f"create snapshot of {name!r}", q.client.create_snapshot, name, wait=True)
    if desc is None:
        raise QdrantError(f"create snapshot of {name!r}: Qdrant at {q.url} returned no snapshot description")
    return Snapshot(desc.name, desc.size, desc.checksum, desc.creation_time)


def server_snapshots(q: Qdrant, name: str) -> list[Snapshot]:
    """The collection's snapshots on the server, oldest first."""
    descs = q.call(f"list snapshots of {name!r}", q.client.list_snapshots, name)
    snaps = [Snapshot(d.name, d.size, d.checksum, d.creation_time) for d in descs]
    return sorted(snaps, key=lambda s: (s.creation_time or "", s.name))


def delete_snapshot(q: Qdrant, name: str, snapshot: str) -> None:
    q.call(f"delete snapshot {snapshot}", q.client.delete_snapshot, name, snapshot, wait=True)


def prune_server(q: Qdrant, name: str, keep: int) -> list[str]:
    """Delete all but the newest `keep` snapshots of the collection on the server."""
    snaps = server_snapshots(q, name)
    doomed = snaps[: max(0, len(snaps) - keep)]
    for snap in doomed:
        delete_snapshot(q, name, snap.name)
    return [s.name for s in doomed]


def download(q: Qdrant, store: Store, name: str, snap: Snapshot, pre_restore: bool = False) -> str:
    """Stream the snapshot into the backup location; returns its sha256 (checked against Qdrant's).

    The store keeps the bytes only if the block ends normally: a mismatch discards them (file or S3 upload).
    """
    store.ensure_space(name, snap.size, pre_restore)

    def fetch() -> str:
        digest = hashlib.sha256()
        with (
            store.receive(name, snap.name, pre_restore, snap.size) as fh,
            q.http.stream("GET", f"/collections/{name}/snapshots/{snap.name}") as resp,
        ):
            resp.raise_for_status()
            for chunk in resp.iter_bytes(CHUNK):
                digest.update(chunk)
                fh.write(chunk)
            sha = digest.hexdigest()
            if snap.checksum and sha != snap.checksum:
                raise ChecksumMismatch(
                    f"snapshot {snap.name} of {name!r} arrived with sha256 {sha[:16]}…, Qdrant reported "
                    f"{snap.checksum[:16]}…: the transfer corrupted it; the file was discarded (run the backup again)"
                )
        return sha

    return q.call(f"download snapshot {snap.name}", fetch)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def check_file(manifest: Manifest, path: Path) -> None:
    """Refuse a backup file whose bytes changed since the backup, before anything is touched."""
    sha = file_sha256(path)
    if sha != manifest.sha256:
        raise ChecksumMismatch(
            f"backup file {path} has sha256 {sha[:16]}…, its manifest says {manifest.sha256[:16]}…: the file is "
            "corrupted; choose another with --snapshot FILE"
        )


def upload_recover(q: Qdrant, name: str, path: Path, sha256: str) -> None:
    """Recover `name` from a local snapshot file: upload with priority=snapshot and its checksum."""

    def send() -> None:
        with path.open("rb") as fh:
            resp = q.http.post(
                f"/collections/{name}/snapshots/upload",
                params={"priority": "snapshot", "checksum": sha256, "wait": "true"},
                files={"snapshot": (path.name, fh, "application/octet-stream")},
            )
        resp.raise_for_status()

    q.call(f"recover {name!r} from {path.name}", send)


def wait_green(q: Qdrant, name: str, timeout_s: float, max_interval_s: float = 1.0) -> float:
    """Poll the collection status until green (polls back off from 50 ms); returns seconds waited."""
    started = time.monotonic()
    status = "unknown"
    interval_s = 0.05
    while time.monotonic() - started < timeout_s:
        info = q.call(f"get collection {name!r}", q.client.get_collection, name)
        status = str(info.status.value)
        if status == "green":
            return round(time.monotonic() - started, 3)
        if status == "red":
            raise QdrantError(f"collection {name!r} is red after recovery (Qdrant at {q.url}); see qdrant's logs")
        time.sleep(interval_s)
        interval_s = min(interval_s * 2, max_interval_s)
    raise QdrantError(f"collection {name!r} still {status} after {timeout_s:.0f} s (inferops:backup.green_timeout_s)")


def verify(q: Qdrant, name: str, manifest: Manifest) -> dict[str, Any]:
    """Points count, vectors config and probe ids must match the manifest; raises VerificationFailed."""
    state = describe(q, name)
    problems = []
    if state.points_count != manifest.points_count:
        problems.append(f"points count {state.points_count}, manifest {manifest.points_count}")
    want_vectors = manifest.config.get("params", {}).get("vectors")
    if want_vectors is not None and state.config.get("params", {}).get("vectors") != want_vectors:
        problems.append("vectors config differs from the manifest")
    got_ids: list[int | str] = []
    if manifest.probe is not None:
        p = manifest.probe
        got_ids = run_probe(q, name, p.vector, p.using, p.limit)
        if set(got_ids) != set(p.ids):
            problems.append(f"probe query returned ids {got_ids}, manifest {p.ids}")
    if problems:
        raise VerificationFailed(f"restored {name!r} does not match {manifest.snapshot}: " + "; ".join(problems))
    return {"points_count": state.points_count, "probe_ids": got_ids}
