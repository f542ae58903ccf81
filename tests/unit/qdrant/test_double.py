"""The Qdrant test double's own tests: it is bound to the spec, and its snapshots really hold data."""

from __future__ import annotations

import hashlib
import json

import httpx
from qdrant_client import QdrantClient

from tests.doubles.qdrant_double import QdrantDouble
from tests.unit.qdrant.conftest import vectors


def test_request_outside_the_spec_is_refused_and_recorded(qdrant: QdrantDouble) -> None:
    qdrant.seed("docs", vectors(3))
    resp = httpx.post(f"{qdrant.url}/collections/docs/points/count", json={"exact": "yes"})
    assert resp.status_code == 400
    violations = qdrant.guard.take()
    assert [v.kind for v in violations] == ["request"]
    assert "exact" in violations[0].detail or "boolean" in violations[0].detail


def test_unknown_path_is_a_violation(qdrant: QdrantDouble) -> None:
    resp = httpx.get(f"{qdrant.url}/collections/docs/backup")
    assert resp.status_code >= 400
    assert any("not found" in v.detail.lower() for v in qdrant.guard.take())


def test_an_answer_outside_the_spec_fails_the_double(qdrant: QdrantDouble) -> None:
    """A drifted double (here: a negative count) is caught by response validation and answered 500."""
    qdrant.seed("docs", vectors(3))
    original = qdrant.op_count_points
    qdrant.op_count_points = lambda request, name: {"count": -1}  # type: ignore[method-assign]
    try:
        resp = httpx.post(f"{qdrant.url}/collections/docs/points/count", json={"exact": True})
    finally:
        qdrant.op_count_points = original  # type: ignore[method-assign]
    assert resp.status_code == 500
    violations = qdrant.guard.take()
    assert [v.kind for v in violations] == ["response"]
    assert "minimum" in violations[0].detail


def test_snapshot_holds_the_points_and_recovers_them(qdrant: QdrantDouble) -> None:
    qdrant.seed("docs", vectors(7))
    client = QdrantClient(url=qdrant.url, check_compatibility=False)
    snap = client.create_snapshot("docs")
    data = httpx.get(f"{qdrant.url}/collections/docs/snapshots/{snap.name}").content
    assert hashlib.sha256(data).hexdigest() == snap.checksum
    assert len(data) == snap.size
    client.delete_collection("docs")
    assert not client.collection_exists("docs")
    resp = httpx.post(
        f"{qdrant.url}/collections/docs/snapshots/upload",
        params={"priority": "snapshot", "checksum": snap.checksum},
        files={"snapshot": (snap.name, data, "application/octet-stream")},
    )
    assert resp.status_code == 200, resp.text
    assert client.count("docs", exact=True).count == 7
    # right after recovery the optimizers run: yellow first, then green
    assert [client.get_collection("docs").status.value for _ in range(3)] == ["yellow", "yellow", "green"]


def test_upload_with_wrong_checksum_changes_nothing(qdrant: QdrantDouble) -> None:
    qdrant.seed("docs", vectors(5))
    client = QdrantClient(url=qdrant.url, check_compatibility=False)
    snap = client.create_snapshot("docs")
    data = httpx.get(f"{qdrant.url}/collections/docs/snapshots/{snap.name}").content
    client.delete_collection("docs")
    resp = httpx.post(
        f"{qdrant.url}/collections/docs/snapshots/upload",
        params={"priority": "snapshot", "checksum": "0" * 64},
        files={"snapshot": (snap.name, data, "application/octet-stream")},
    )
    assert resp.status_code == 400
    assert "checksum mismatch" in json.loads(resp.content)["status"]["error"]
    assert not client.collection_exists("docs")


def test_query_ranks_by_distance(qdrant: QdrantDouble) -> None:
    qdrant.seed("docs", [[1.0, 0.0], [0.0, 1.0], [0.7, 0.7]])
    client = QdrantClient(url=qdrant.url, check_compatibility=False)
    ids = [p.id for p in client.query_points("docs", query=[1.0, 0.1], limit=3).points]
    assert ids == [1, 3, 2]


def test_stop_makes_it_unreachable_and_start_brings_it_back(qdrant: QdrantDouble) -> None:
    qdrant.stop()
    try:
        httpx.get(f"{qdrant.url}/readyz", timeout=1)
        raise AssertionError("the stopped double answered")
    except httpx.ConnectError:
        pass
    qdrant.start()
    assert httpx.get(f"{qdrant.url}/readyz").text == "all shards are ready"
