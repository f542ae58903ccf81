"""QdrantDouble: a TEST DOUBLE of Qdrant's REST API, bound to Qdrant's published OpenAPI spec.

No Qdrant server can run on this machine (no image registry), so the runbooks are tested against
this double: a real HTTP server on 127.0.0.1 (random port) that implements the subset of the REST
API the runbooks use, with Qdrant's semantics where they matter to backup and restore:

- a snapshot is a real file (a tar archive) that holds the collection config and every point, its
  sha256 is the checksum the double reports, and recovering it really replaces the collection;
- upload recovery honours `checksum` (mismatch → 400, nothing changed) and `priority`;
- a recovered collection reports `yellow` for a couple of polls before `green`, as optimizers run;
- queries score points by the collection's distance, so a probe query taken before a backup
  returns the same ids after a restore and different ids after data loss.

The snapshot archive format is the double's own (`inferops-qdrant-double/1`), not Qdrant's: code
under test must treat snapshots as opaque bytes, which the real runbooks do.

Every request is validated against the spec and every answer the double gives is validated against
the spec's response schema (`openapi_binding.SpecGuard`); violations are recorded and fail the
test. Faults (`Faults`) make the double misbehave the way a real Qdrant does: corrupted transfers,
failed recoveries, 503s while restarting, slowness, and `stop()` for a server that is down.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import math
import tarfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from tests.doubles.openapi_binding import SpecGuard, load_spec
from tests.doubles.serving import LoopbackServer

SNAPSHOT_FORMAT = "inferops-qdrant-double/1"
VERSION = "1.19.0"

# operationId (as in the spec) of every route the double implements.
ROUTES: list[tuple[str, str, str]] = [
    ("/", "GET", "root"),
    ("/readyz", "GET", "readyz"),
    ("/collections", "GET", "get_collections"),
    ("/collections/<name>", "GET", "get_collection"),
    ("/collections/<name>", "PUT", "create_collection"),
    ("/collections/<name>", "DELETE", "delete_collection"),
    ("/collections/<name>/exists", "GET", "collection_exists"),
    ("/collections/<name>/points", "PUT", "upsert_points"),
    ("/collections/<name>/points/delete", "POST", "delete_points"),
    ("/collections/<name>/points/count", "POST", "count_points"),
    ("/collections/<name>/points/scroll", "POST", "scroll_points"),
    ("/collections/<name>/points/query", "POST", "query_points"),
    ("/collections/<name>/snapshots", "GET", "list_snapshots"),
    ("/collections/<name>/snapshots", "POST", "create_snapshot"),
    ("/collections/<name>/snapshots/upload", "POST", "recover_from_uploaded_snapshot"),
    ("/collections/<name>/snapshots/<snapshot>", "GET", "get_snapshot"),
    ("/collections/<name>/snapshots/<snapshot>", "DELETE", "delete_snapshot"),
]

HNSW_DEFAULT = {"m": 16, "ef_construct": 100, "full_scan_threshold": 10000, "max_indexing_threads": 0}
OPTIMIZER_DEFAULT = {
    "deleted_threshold": 0.2,
    "vacuum_min_vector_number": 1000,
    "default_segment_number": 0,
    "flush_interval_sec": 5,
}
WAL_DEFAULT = {"wal_capacity_mb": 32, "wal_segments_ahead": 0}


class DoubleError(Exception):
    """An error the double answers with Qdrant's ErrorResponse body."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Faults:
    """Ways to make the double misbehave like a real Qdrant under trouble.

    Counters (`fail_recover`, `truncate_recover`, `unavailable`) are consumed one per event, so a
    rollback after an injected failure goes through.
    """

    corrupt_download: bool = False  # snapshot bytes change in transit (sha256 no longer matches)
    fail_recover: int = 0  # next N upload-recoveries fail with 500 after dropping the collection
    truncate_recover: int = 0  # next N upload-recoveries "succeed" but keep only half the points
    unavailable: int = 0  # next N requests get 503 (a Qdrant that is restarting)
    not_ready: bool = False  # /readyz answers 503
    delay_s: dict[str, float] = field(default_factory=dict)  # operationId -> stall before answering


@dataclass
class Collection:
    params: dict[str, Any]
    hnsw: dict[str, Any]
    optimizer: dict[str, Any]
    wal: dict[str, Any]
    points: dict[str, dict[str, Any]] = field(default_factory=dict)  # json(id) -> point
    yellow_polls: int = 0  # info polls left that report "yellow" (optimizing after recovery)

    def config(self) -> dict[str, Any]:
        return {
            "params": self.params,
            "hnsw_config": self.hnsw,
            "optimizer_config": self.optimizer,
            "wal_config": self.wal,
        }


@dataclass
class SnapshotFile:
    name: str
    path: Path
    created: str
    size: int
    checksum: str

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "creation_time": self.created, "size": self.size, "checksum": self.checksum}


class QdrantDouble(LoopbackServer):
    """Test double of Qdrant's REST API (see module docstring). Use as a context manager."""

    thread_name = "qdrant-double"

    def __init__(self, snapshot_dir: Path, spec: Any | None = None) -> None:
        super().__init__()
        self.guard = SpecGuard(spec if spec is not None else load_spec())
        self.faults = Faults()
        self.collections: dict[str, Collection] = {}
        self.snapshots: dict[str, dict[str, SnapshotFile]] = {}
        self.snapshot_dir = snapshot_dir
        self.requests: list[tuple[str, str]] = []  # (method, path with query) of every request
        self._answered = 0
        self._idle = threading.Condition()
        self._lock = threading.RLock()
        self._seq = 0
        self._version = 0
        self._map = Map([Rule(path, methods=[method], endpoint=op) for path, method, op in ROUTES])
        logging.getLogger("werkzeug").setLevel(logging.ERROR)

    # ---- lifecycle -------------------------------------------------------------------------
    # ---- seeding helpers (tests) -------------------------------------------------------------
    def seed(self, name: str, vectors: list[list[float]], distance: str = "Cosine") -> None:
        """Create collection `name` holding one point per vector (ids 1..n, payload {"n": id})."""
        with self._lock:
            coll = self._new_collection({"vectors": {"size": len(vectors[0]), "distance": distance}})
            for i, vec in enumerate(vectors, start=1):
                self._put_point(coll, {"id": i, "vector": vec, "payload": {"n": i}})
            self.collections[name] = coll

    # ---- WSGI ---------------------------------------------------------------------------------
    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        request.get_data()  # cache the body: the spec check and the handler both read it
        try:
            response = self._answer(request)
        finally:
            with self._idle:
                self._answered += 1
                self._idle.notify_all()
        problem = self.guard.check_response(request, response)
        if problem:
            response = _error(500, f"test double answered outside Qdrant's spec: {problem}")
        return response(environ, start_response)

    def wait_idle(self, timeout_s: float = 60) -> None:
        """Until every request received has been carried out, including ones whose client left."""
        with self._idle:
            if not self._idle.wait_for(lambda: self._answered >= len(self.requests), timeout_s):
                raise TimeoutError(f"the Qdrant double is still busy after {timeout_s} s")

    def _answer(self, request: Request) -> Response:
        self.requests.append((request.method, request.full_path.rstrip("?")))
        try:
            endpoint, args = self._map.bind_to_environ(request.environ).match()
        except (NotFound, MethodNotAllowed):
            endpoint, args = None, {}
        problem = self.guard.check_request(request)
        if problem:
            return _error(400, f"Format error in request (not allowed by Qdrant's spec): {problem}")
        if endpoint is None:
            return _error(501, f"{request.method} {request.path} is in Qdrant's API but not in the test double")
        if self.faults.unavailable > 0:
            self.faults.unavailable -= 1
            if endpoint == "readyz":
                return Response("some shards are not ready", status=503, content_type="text/plain")
            return _error(503, "Service Unavailable: qdrant is starting")
        time.sleep(self.faults.delay_s.get(endpoint, 0))
        started = time.perf_counter()
        try:
            out = getattr(self, f"op_{endpoint}")(request, **args)
        except DoubleError as err:
            return _error(err.status, err.message)
        except HTTPException as err:
            return _error(err.code or 400, err.description or "bad request")
        if isinstance(out, Response):
            return out
        return _ok(out, time.perf_counter() - started)

    # ---- service ------------------------------------------------------------------------------
    def op_root(self, request: Request) -> Response:
        body = {"title": "qdrant - vector search engine (test double)", "version": VERSION}
        return Response(json.dumps(body), content_type="application/json")

    def op_readyz(self, request: Request) -> Response:
        if self.faults.not_ready:
            return Response("some shards are not ready", status=503, content_type="text/plain")
        return Response("all shards are ready", content_type="text/plain")

    # ---- collections ----------------------------------------------------------------------------
    def op_get_collections(self, request: Request) -> dict[str, Any]:
        with self._lock:
            return {"collections": [{"name": n} for n in sorted(self.collections)]}

    def op_collection_exists(self, request: Request, name: str) -> dict[str, Any]:
        return {"exists": name in self.collections}

    def op_get_collection(self, request: Request, name: str) -> dict[str, Any]:
        with self._lock:
            coll = self._get(name)
            status = "green"
            if coll.yellow_polls > 0:
                coll.yellow_polls -= 1
                status = "yellow"
            return {
                "status": status,
                "optimizer_status": "ok",
                "indexed_vectors_count": 0,
                "points_count": len(coll.points),
                "segments_count": 1,
                "config": coll.config(),
                "payload_schema": {},
            }

    def op_create_collection(self, request: Request, name: str) -> bool:
        body = request.get_json()
        with self._lock:
            if name in self.collections:
                raise DoubleError(409, f"Wrong input: Collection `{name}` already exists!")
            if "vectors" not in body:
                raise DoubleError(400, "the test double supports collections with dense `vectors` only")
            coll = self._new_collection({"vectors": body["vectors"]})
            coll.hnsw = {**coll.hnsw, **(body.get("hnsw_config") or {})}
            self.collections[name] = coll
        return True

    def op_delete_collection(self, request: Request, name: str) -> bool:
        with self._lock:
            return self.collections.pop(name, None) is not None

    # ---- points -------------------------------------------------------------------------------
    def op_upsert_points(self, request: Request, name: str) -> dict[str, Any]:
        body = request.get_json()
        with self._lock:
            coll = self._get(name)
            if "points" in body:
                points = body["points"]
            else:
                batch = body["batch"]
                payloads = batch.get("payloads") or [None] * len(batch["ids"])
                points = [
                    {"id": i, "vector": v, "payload": p}
                    for i, v, p in zip(batch["ids"], batch["vectors"], payloads, strict=True)
                ]
            for point in points:
                self._put_point(coll, point)
            return {"operation_id": self._version, "status": "completed"}

    def op_delete_points(self, request: Request, name: str) -> dict[str, Any]:
        body = request.get_json()
        if "points" not in body:
            raise DoubleError(400, "the test double deletes by id list only (no filters)")
        with self._lock:
            coll = self._get(name)
            for pid in body["points"]:
                coll.points.pop(json.dumps(pid), None)
            self._version += 1
            return {"operation_id": self._version, "status": "completed"}

    def op_count_points(self, request: Request, name: str) -> dict[str, Any]:
        body = request.get_json(silent=True) or {}
        if body.get("filter"):
            raise DoubleError(400, "the test double does not implement filters")
        with self._lock:
            return {"count": len(self._get(name).points)}

    def op_scroll_points(self, request: Request, name: str) -> dict[str, Any]:
        body = request.get_json(silent=True) or {}
        if body.get("filter") or body.get("order_by"):
            raise DoubleError(400, "the test double does not implement filters or order_by")
        limit = body.get("limit") or 10
        with self._lock:
            ordered = sorted(self._get(name).points.values(), key=lambda p: _id_key(p["id"]))
        if body.get("offset") is not None:
            start = _id_key(body["offset"])
            ordered = [p for p in ordered if _id_key(p["id"]) >= start]
        page, rest = ordered[:limit], ordered[limit:]
        records = [_record(p, body.get("with_payload", True), body.get("with_vector", False)) for p in page]
        return {"points": records, "next_page_offset": rest[0]["id"] if rest else None}

    def op_query_points(self, request: Request, name: str) -> dict[str, Any]:
        body = request.get_json(silent=True) or {}
        if body.get("filter") or body.get("prefetch"):
            raise DoubleError(400, "the test double does not implement filters or prefetch")
        with self._lock:
            coll = self._get(name)
            points = list(coll.points.values())
            using = body.get("using")
            distance = _vector_params(coll.params, using)["distance"]
            query = _query_vector(body.get("query"), coll, using)
        limit = body.get("limit") or 10
        offset = body.get("offset") or 0
        if query is None:
            ranked = sorted(points, key=lambda p: _id_key(p["id"]))
            scored = [(p, 0.0) for p in ranked]
        else:
            scored = [(p, _score(distance, query, _vector_of(p, using))) for p in points]
            lower_is_better = distance in ("Euclid", "Manhattan")
            scored.sort(key=lambda ps: (ps[1] if lower_is_better else -ps[1], _id_key(ps[0]["id"])))
        page = scored[offset : offset + limit]
        out = []
        for point, score in page:
            rec = _record(point, body.get("with_payload", False), body.get("with_vector", False))
            out.append({**rec, "score": score, "version": point["version"]})
        return {"points": out}

    # ---- snapshots ----------------------------------------------------------------------------
    def op_list_snapshots(self, request: Request, name: str) -> list[dict[str, Any]]:
        with self._lock:
            self._get(name)
            return [s.describe() for s in self.snapshots.get(name, {}).values()]

    def op_create_snapshot(self, request: Request, name: str) -> dict[str, Any]:
        with self._lock:
            coll = self._get(name)
            data = _archive(name, coll)
            self._seq += 1
            now = datetime.now(UTC)
            snap_name = f"{name}-double-{now:%Y-%m-%d-%H-%M-%S}-{self._seq:04d}.snapshot"
            path = self.snapshot_dir / name / snap_name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            snap = SnapshotFile(snap_name, path, f"{now:%Y-%m-%dT%H:%M:%S}", len(data), _sha256(data))
            self.snapshots.setdefault(name, {})[snap_name] = snap
            return snap.describe()

    def op_delete_snapshot(self, request: Request, name: str, snapshot: str) -> bool:
        with self._lock:
            snap = self.snapshots.get(name, {}).pop(snapshot, None)
            if snap is None:
                raise DoubleError(404, f"Not found: Snapshot {snapshot} not found")
            snap.path.unlink(missing_ok=True)
            return True

    def op_get_snapshot(self, request: Request, name: str, snapshot: str) -> Response:
        with self._lock:
            snap = self.snapshots.get(name, {}).get(snapshot)
            if snap is None:
                raise DoubleError(404, f"Not found: Snapshot {snapshot} not found")
            data = snap.path.read_bytes()
        if self.faults.corrupt_download:
            middle = len(data) // 2
            data = data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1 :]
        return Response(data, content_type="application/octet-stream")

    def op_recover_from_uploaded_snapshot(self, request: Request, name: str) -> Any:
        upload = request.files.get("snapshot")
        if upload is None:
            raise DoubleError(400, "Bad request: multipart field `snapshot` is missing")
        data = upload.read()
        checksum = request.args.get("checksum")
        if checksum and checksum != _sha256(data):
            raise DoubleError(400, f"Bad request: Snapshot checksum mismatch: expected {checksum}, got {_sha256(data)}")
        content = _unarchive(data)
        with self._lock:
            if self.faults.fail_recover > 0:
                self.faults.fail_recover -= 1
                self.collections.pop(name, None)
                raise DoubleError(500, f"Service internal error: failed to recover collection `{name}` from snapshot")
            if request.args.get("priority") == "replica" and name in self.collections:
                return True  # existing data is the source of truth: nothing to take from the snapshot
            coll = Collection(content["params"], content["hnsw"], content["optimizer"], content["wal"], yellow_polls=2)
            for point in content["points"]:
                coll.points[json.dumps(point["id"])] = point
            if self.faults.truncate_recover > 0:
                self.faults.truncate_recover -= 1
                keep = list(coll.points.items())[: len(coll.points) // 2]
                coll.points = dict(keep)
            self.collections[name] = coll
        if request.args.get("wait") == "false":
            return Response(
                json.dumps({"status": "accepted", "time": 0.0}), status=202, content_type="application/json"
            )
        return True

    # ---- internals ----------------------------------------------------------------------------
    def _get(self, name: str) -> Collection:
        coll = self.collections.get(name)
        if coll is None:
            raise DoubleError(404, f"Not found: Collection `{name}` doesn't exist!")
        return coll

    def _new_collection(self, params: dict[str, Any]) -> Collection:
        base = {"shard_number": 1, "replication_factor": 1, "write_consistency_factor": 1, "on_disk_payload": True}
        return Collection({**base, **params}, dict(HNSW_DEFAULT), dict(OPTIMIZER_DEFAULT), dict(WAL_DEFAULT))

    def _put_point(self, coll: Collection, point: dict[str, Any]) -> None:
        vector = point["vector"]
        if isinstance(vector, list):
            expected = _vector_params(coll.params, None)["size"]
            if len(vector) != expected:
                raise DoubleError(
                    400, f"Wrong input: Vector dimension error: expected dim: {expected}, got {len(vector)}"
                )
        self._version += 1
        coll.points[json.dumps(point["id"])] = {
            "id": point["id"],
            "vector": vector,
            "payload": point.get("payload"),
            "version": self._version,
        }


# ---- helpers -------------------------------------------------------------------------------------
def _ok(result: Any, elapsed: float) -> Response:
    return Response(json.dumps({"result": result, "status": "ok", "time": elapsed}), content_type="application/json")


def _error(status: int, message: str) -> Response:
    body = {"status": {"error": message}, "time": 0.0}
    return Response(json.dumps(body), status=status, content_type="application/json")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _archive(name: str, coll: Collection) -> bytes:
    doc = {
        "format": SNAPSHOT_FORMAT,
        "collection": name,
        "params": coll.params,
        "hnsw": coll.hnsw,
        "optimizer": coll.optimizer,
        "wal": coll.wal,
        "points": list(coll.points.values()),
    }
    payload = json.dumps(doc).encode()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("collection.json")
        info.size = len(payload)
        info.mtime = int(time.time())
        tar.addfile(info, io.BytesIO(payload))
    return buf.getvalue()


def _unarchive(data: bytes) -> dict[str, Any]:
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r") as tar:
            member = tar.extractfile("collection.json")
            doc = json.loads(member.read()) if member else {}
    except (tarfile.TarError, KeyError, ValueError) as err:
        raise DoubleError(400, f"Bad request: invalid snapshot archive: {err}") from None
    if doc.get("format") != SNAPSHOT_FORMAT:
        raise DoubleError(400, "Bad request: invalid snapshot archive")
    return doc


def _id_key(pid: Any) -> tuple[int, Any]:
    return (0, pid) if isinstance(pid, int) else (1, str(pid))


def _vector_params(params: dict[str, Any], using: str | None) -> dict[str, Any]:
    vectors = params["vectors"]
    if "size" in vectors:
        return vectors
    if using is None or using not in vectors:
        raise DoubleError(400, f"Wrong input: vector name {using!r} not in collection")
    return vectors[using]


def _vector_of(point: dict[str, Any], using: str | None) -> list[float]:
    vec = point["vector"]
    return vec if isinstance(vec, list) else vec[using]


def _query_vector(query: Any, coll: Collection, using: str | None) -> list[float] | None:
    if query is None:
        return None
    if isinstance(query, dict) and "nearest" in query:
        query = query["nearest"]
    if isinstance(query, list) and all(isinstance(x, int | float) for x in query):
        return [float(x) for x in query]
    if isinstance(query, int | str):  # a point id: use that point's vector
        point = coll.points.get(json.dumps(query))
        if point is None:
            raise DoubleError(404, f"Not found: No point with id {query} found")
        return _vector_of(point, using)
    raise DoubleError(400, "the test double implements nearest-vector queries only")


def _score(distance: str, a: list[float], b: list[float]) -> float:
    if distance == "Dot":
        return sum(x * y for x, y in zip(a, b, strict=True))
    if distance == "Cosine":
        na, nb = math.sqrt(sum(x * x for x in a)), math.sqrt(sum(y * y for y in b))
        return sum(x * y for x, y in zip(a, b, strict=True)) / ((na * nb) or 1.0)
    if distance == "Euclid":
        return math.sqrt(sum((x - y) ** 2 for x, y in zip(a, b, strict=True)))
    return sum(abs(x - y) for x, y in zip(a, b, strict=True))


def _record(point: dict[str, Any], with_payload: Any, with_vector: Any) -> dict[str, Any]:
    rec: dict[str, Any] = {"id": point["id"]}
    if with_payload:
        rec["payload"] = point["payload"]
    if with_vector:
        rec["vector"] = point["vector"]
    return rec
