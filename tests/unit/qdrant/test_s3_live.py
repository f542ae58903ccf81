"""The S3 live switch: with INFEROPS_S3_TEST_URI=s3://bucket/prefix set (and AWS credentials in the
environment: AWS_PROFILE, AWS_ACCESS_KEY_ID/…, or IRSA), the backup → data loss → restore happy
path runs against that real bucket, with the Qdrant test double as Qdrant. It writes only under
`<prefix>/inferops-live-test-<pid>-<random>/` and deletes everything there at the end. Without the
variable it skips, saying so (docs/runbooks/qdrant-backup.md).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.spec.model import Platform
from runbooks.qdrant.s3store import S3Store
from tests.doubles.qdrant_double import QdrantDouble
from tests.doubles.rag_double import RagDouble
from tests.unit.qdrant.conftest import make_platform
from tests.unit.qdrant.scenarios import read_backup, run_backup, run_restore, store

S3_URI = os.environ.get("INFEROPS_S3_TEST_URI", "").strip().rstrip("/")
pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(
        not S3_URI, reason="INFEROPS_S3_TEST_URI is not set: no real S3 bucket to run the happy path against"
    ),
]


@pytest.fixture
def live_s3(
    tmp_path: Path, qdrant: QdrantDouble, rag: RagDouble, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Platform]:
    monkeypatch.setenv("QDRANT_URL", qdrant.url)
    monkeypatch.setenv("RAG_URL", rag.url)
    monkeypatch.setenv("INFEROPS_RUNS_DIR", str(tmp_path / "runs"))
    location = f"{S3_URI}/inferops-live-test-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    platform = make_platform(tmp_path, location=location)
    try:
        yield platform
    finally:
        s3 = store(platform)
        assert isinstance(s3, S3Store)
        pages = s3.client.get_paginator("list_objects_v2").paginate(Bucket=s3.bucket, Prefix=s3.prefix + "/")
        for page in pages:
            for obj in page.get("Contents", []):
                s3.client.delete_object(Bucket=s3.bucket, Key=obj["Key"])


def test_live_s3_backup_and_restore_round_trip(live_s3: Platform, qdrant: QdrantDouble, rag: RagDouble,
                                               docs: str) -> None:  # fmt: skip
    import hashlib

    from tests.unit.qdrant.conftest import vectors

    assert run_backup(live_s3).exit_code == 0
    [manifest] = store(live_s3).manifests(docs)
    assert hashlib.sha256(read_backup(store(live_s3), docs, manifest.snapshot)).hexdigest() == manifest.sha256
    qdrant.collections.pop(docs)
    qdrant.seed(docs, vectors(3, salt="after-loss"))
    record = run_restore(live_s3, rag, docs)
    assert record.exit_code == 0, record.error
    assert len(qdrant.collections[docs].points) == 20
    assert [m.points_count for m in store(live_s3).manifests(docs, pre_restore=True)] == [3]
