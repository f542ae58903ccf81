"""The live switch: with QDRANT_URL set, the scenarios that need no fault injection run against that
server (a real Qdrant, e.g. the gpu-host stack through an SSH port-forward; docs/runbooks/qdrant-restore.md).

They work on a scratch collection of their own (`inferops-live-test-<pid>`) and delete it at the
end; nothing else on the server is touched. Without QDRANT_URL they skip, saying so.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.spec.model import Platform
from tests.unit.qdrant.conftest import make_platform, vectors
from tests.unit.qdrant.scenarios import run_backup, run_restore, store

LIVE_URL = os.environ.get("QDRANT_URL", "").strip()
pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(not LIVE_URL, reason="QDRANT_URL is not set: no live Qdrant to run the scenarios against"),
]
SCRATCH = f"inferops-live-test-{os.getpid()}"


@pytest.fixture
def live(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Platform]:
    from qdrant_client import QdrantClient, models

    monkeypatch.setenv("INFEROPS_RUNS_DIR", str(tmp_path / "runs"))
    client = QdrantClient(url=LIVE_URL, check_compatibility=False)
    client.create_collection(SCRATCH, vectors_config=models.VectorParams(size=8, distance=models.Distance.COSINE))
    points = [models.PointStruct(id=i, vector=v, payload={"n": i}) for i, v in enumerate(vectors(20), start=1)]
    client.upsert(SCRATCH, points=points, wait=True)
    try:
        yield make_platform(tmp_path, rag=False, keep_on_server=0)  # the scratch collection has no writer
    finally:
        if client.collection_exists(SCRATCH):
            for snap in client.list_snapshots(SCRATCH):
                client.delete_snapshot(SCRATCH, snap.name)
            client.delete_collection(SCRATCH)
        client.close()


def test_live_backup_and_restore_round_trip(live: Platform) -> None:
    from qdrant_client import QdrantClient

    assert run_backup(live, SCRATCH).exit_code == 0
    [manifest] = store(live).manifests(SCRATCH)
    assert manifest.points_count == 20
    client = QdrantClient(url=LIVE_URL, check_compatibility=False)
    client.delete(SCRATCH, points_selector=list(range(1, 11)), wait=True)  # lose half the data
    record = run_restore(live, None, SCRATCH)
    assert record.exit_code == 0, record.error
    assert client.count(SCRATCH, exact=True).count == 20
    client.close()


def test_live_no_snapshot_is_refused(live: Platform) -> None:
    record = run_restore(live, None, SCRATCH)
    assert record.exit_code == 1 and "no backup of collection" in record.error
