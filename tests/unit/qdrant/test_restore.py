"""runbook.qdrant-restore against the Qdrant and rag test doubles: happy path, no snapshot, corrupted
backup file, recover fails or restores the wrong data (rollback), rag cannot be held, Ctrl-C
mid-restore, Qdrant down, and the --reindex fallback; through both stores (directory and the S3
test double, see conftest). The Kubernetes target (rag scaled to 0): test_restore_k8s.py."""

from __future__ import annotations

import os
import signal
import threading
import time

from infra.spec.model import Platform
from tests.doubles.qdrant_double import QdrantDouble
from tests.doubles.rag_double import RagDouble
from tests.unit.qdrant.conftest import dir_only, vectors
from tests.unit.qdrant.scenarios import read_backup, run_backup, run_restore, step, store, write_backup


def _lose_data(qdrant: QdrantDouble, name: str, keep: int = 3) -> None:
    """Data loss: the collection now holds other, fewer points."""
    qdrant.collections.pop(name)
    qdrant.seed(name, vectors(keep, salt="after-loss"))


def test_restore_brings_back_the_backup_and_verifies_it(platform: Platform, qdrant: QdrantDouble, rag: RagDouble,
                                                        docs: str) -> None:  # fmt: skip
    assert run_backup(platform).exit_code == 0
    _lose_data(qdrant, docs)
    record = run_restore(platform, rag, docs)
    assert record.exit_code == 0, record.error
    assert len(qdrant.collections[docs].points) == 20
    assert step(record, "verify").detail["points_count"] == 20
    assert record.measurements["points_before"] == 3 and record.measurements["points_after"] == 20
    assert rag.events == ["hold rag", "release rag"] and not rag.held
    # the upload carried priority=snapshot and the file's checksum
    manifest = store(platform).manifests(docs)[-1]
    uploads = [p for m, p in qdrant.requests if "/snapshots/upload" in p]
    assert uploads and "priority=snapshot" in uploads[0] and f"checksum={manifest.sha256}" in uploads[0]
    # a verified copy of what was there before is kept
    [pre] = store(platform).manifests(docs, pre_restore=True)
    assert pre.points_count == 3


def test_no_snapshot_fails_before_touching_anything(platform: Platform, qdrant: QdrantDouble, rag: RagDouble,
                                                    docs: str) -> None:  # fmt: skip
    record = run_restore(platform, rag, docs)
    assert record.exit_code == 1
    assert "no backup of collection 'docs'" in record.error and "--reindex" in record.error
    assert rag.events == [] and len(qdrant.collections[docs].points) == 20


def test_corrupted_backup_file_is_refused(platform: Platform, qdrant: QdrantDouble, rag: RagDouble, docs: str) -> None:
    assert run_backup(platform).exit_code == 0
    manifest = store(platform).manifests(docs)[-1]
    data = bytearray(read_backup(store(platform), docs, manifest.snapshot))
    data[100] ^= 0xFF
    write_backup(store(platform), docs, manifest.snapshot, bytes(data))
    _lose_data(qdrant, docs)
    record = run_restore(platform, rag, docs)
    assert record.exit_code == 1
    assert step(record, "choose backup").status == "failed" and "corrupted" in record.error
    assert rag.events == [] and len(qdrant.collections[docs].points) == 3


def test_failed_recover_rolls_back_to_the_pre_restore_copy(platform: Platform, qdrant: QdrantDouble, rag: RagDouble,
                                                           docs: str) -> None:  # fmt: skip
    assert run_backup(platform).exit_code == 0
    _lose_data(qdrant, docs)
    before = {json for json in qdrant.collections[docs].points}
    qdrant.faults.fail_recover = 1  # the recovery fails and leaves no collection behind
    record = run_restore(platform, rag, docs)
    assert record.exit_code == 1
    assert step(record, "recover").status == "failed" and "500" in record.error
    assert [r.status for r in record.rollbacks if r.kind == "rollback"] == ["ok", "ok"]
    assert set(qdrant.collections[docs].points) == before
    assert rag.events == ["hold rag", "release rag"]


def test_wrong_data_fails_verification_and_rolls_back(platform: Platform, qdrant: QdrantDouble, rag: RagDouble,
                                                      docs: str) -> None:  # fmt: skip
    assert run_backup(platform).exit_code == 0
    _lose_data(qdrant, docs)
    qdrant.faults.truncate_recover = 1  # recovery "succeeds" with half the points
    record = run_restore(platform, rag, docs)
    assert record.exit_code == 1
    assert step(record, "verify").status == "failed"
    assert "points count 10, manifest 20" in record.error
    assert len(qdrant.collections[docs].points) == 3  # back to the pre-restore state
    assert not rag.held


def test_rag_cannot_be_held_changes_nothing(platform: Platform, qdrant: QdrantDouble, rag: RagDouble,
                                              docs: str) -> None:  # fmt: skip
    assert run_backup(platform).exit_code == 0
    _lose_data(qdrant, docs)
    rag.fail_hold = True
    uploads_before = len(qdrant.snapshots.get(docs, {}))
    record = run_restore(platform, rag, docs)
    assert record.exit_code == 1
    assert "cannot hold the writer 'rag'" in record.error and "nothing was changed" in record.error
    assert len(qdrant.collections[docs].points) == 3
    assert len(qdrant.snapshots.get(docs, {})) == uploads_before
    assert not any("/snapshots/upload" in p for _, p in qdrant.requests)


def test_ctrl_c_mid_restore_rolls_back(platform: Platform, qdrant: QdrantDouble, rag: RagDouble, docs: str) -> None:
    """SIGINT while Qdrant carries out the recover: the runner waits for its answer, then rolls back
    to the pre-restore copy, so the abandoned recover cannot land after the rollback."""
    assert run_backup(platform).exit_code == 0
    _lose_data(qdrant, docs)
    qdrant.faults.delay_s["recover_from_uploaded_snapshot"] = 1.0

    def interrupt_when_uploading() -> None:
        deadline = time.monotonic() + 120  # only bounds a hang: on a loaded machine the upload comes late
        while time.monotonic() < deadline:
            if any("/snapshots/upload" in p for _, p in qdrant.requests):
                os.kill(os.getpid(), signal.SIGINT)
                qdrant.faults.delay_s.clear()  # the rollback's recover answers at once
                return
            threading.Event().wait(0.01)

    interrupter = threading.Thread(target=interrupt_when_uploading, daemon=True)
    interrupter.start()
    record = run_restore(platform, rag, docs)
    interrupter.join()
    qdrant.wait_idle()  # a recover the runner had abandoned would land now
    assert record.exit_code == 1, record.error
    assert step(record, "recover").status == "interrupted"
    assert [r.status for r in record.rollbacks if r.kind == "rollback"] == ["ok", "ok"]
    assert len(qdrant.collections[docs].points) == 3
    assert not rag.held


@dir_only  # about Qdrant, not the store
def test_qdrant_down_is_a_clear_error_and_nothing_is_held(platform: Platform, qdrant: QdrantDouble,
                                                            rag: RagDouble, docs: str) -> None:  # fmt: skip
    assert run_backup(platform).exit_code == 0
    qdrant.stop()
    record = run_restore(platform, rag, docs)
    assert record.exit_code == 3  # Missing: Qdrant does not answer
    assert f"Qdrant at {qdrant.url} is unreachable" in record.error
    assert rag.events == []


def test_dry_run_changes_nothing(platform: Platform, qdrant: QdrantDouble, rag: RagDouble, docs: str) -> None:
    assert run_backup(platform).exit_code == 0
    _lose_data(qdrant, docs)
    record = run_restore(platform, rag, docs, dry_run=True)
    assert record.exit_code == 0
    assert step(record, "choose backup").status == "ok" and step(record, "recover").status == "planned"
    assert len(qdrant.collections[docs].points) == 3 and rag.events == []


def test_reindex_recreates_and_reports_counts(platform: Platform, qdrant: QdrantDouble, rag: RagDouble,
                                              docs: str) -> None:  # fmt: skip
    record = run_restore(platform, rag, docs, reindex=True)
    assert record.exit_code == 0, record.error
    assert record.measurements["points_before"] == 20
    assert record.measurements["points_after"] == len(rag.corpus) == len(qdrant.collections[docs].points)
    assert rag.events == [f"index {docs}"]
    # the data that was there is kept as a verified copy before the collection was dropped
    [pre] = store(platform).manifests(docs, pre_restore=True)
    assert pre.points_count == 20


def test_reindex_that_indexes_nothing_rolls_back(platform: Platform, qdrant: QdrantDouble, rag: RagDouble,
                                                 docs: str) -> None:  # fmt: skip
    rag.corpus = []
    record = run_restore(platform, rag, docs, reindex=True)
    assert record.exit_code == 1
    assert "indexed nothing" in record.error
    assert len(qdrant.collections[docs].points) == 20


def test_restore_from_a_named_file(platform: Platform, qdrant: QdrantDouble, rag: RagDouble, docs: str) -> None:
    """--snapshot FILE: a path in the directory store, an s3:// URI in the S3 store."""
    assert run_backup(platform).exit_code == 0
    first = store(platform).manifests(docs)[-1]
    qdrant.seed(docs, vectors(5, salt="v2"))
    assert run_backup(platform).exit_code == 0
    record = run_restore(platform, rag, docs, snapshot=store(platform).uri(docs, first.snapshot))
    assert record.exit_code == 0, record.error
    assert len(qdrant.collections[docs].points) == 20
