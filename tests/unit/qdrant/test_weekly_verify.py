"""runbook.weekly-check's backup item (seed 003's 복구 테스트) against the spec-bound Qdrant double,
through both backup stores: a backup taken now, restored into a scratch collection, compared, and
the scratch collection removed; a restore that brings back the wrong count fails with the figures."""

from __future__ import annotations

import pytest

from infra.spec.model import Platform
from runbooks.weekly.qdrant_verify import verify_backups
from tests.doubles.qdrant_double import QdrantDouble
from tests.unit.qdrant.conftest import vectors
from tests.unit.qdrant.scenarios import store


def _deletes(qdrant: QdrantDouble) -> list[str]:
    return [path for method, path in qdrant.requests if method == "DELETE" and "snapshots" not in path]


def test_backup_verified_by_a_restore_into_a_scratch_collection(platform: Platform, qdrant: QdrantDouble,
                                                                docs: str) -> None:  # fmt: skip
    (found,) = verify_backups(platform)
    assert found.check == "backup-restore" and found.subject == "docs" and found.verdict == "ok", found
    assert found.data["points_backup"] == 20 and found.data["points_restored"] == 20
    assert len(found.data["probe_ids"]) == 5 and "same 5 ids" in found.detail
    scratch = found.data["scratch"]
    assert scratch.startswith("weekly-verify-docs-")
    assert sorted(qdrant.collections) == ["docs"], "the scratch collection was left behind"
    assert _deletes(qdrant) == [f"/collections/{scratch}"]  # only the scratch collection was ever deleted
    assert len(qdrant.collections["docs"].points) == 20  # the collection itself was never touched
    assert [m.snapshot for m in store(platform).manifests("docs")] == [found.data["snapshot"]]  # the backup is kept


def test_a_restore_with_the_wrong_count_fails_with_the_figures(platform: Platform, qdrant: QdrantDouble,
                                                               docs: str) -> None:  # fmt: skip
    qdrant.faults.truncate_recover = 1  # the recovery "succeeds" with half the points
    (found,) = verify_backups(platform)
    assert found.verdict == "fail"
    assert found.data["points_backup"] == 20 and found.data["points_restored"] == 10
    assert "10 of 20 points came back" in found.detail and "points count 10, manifest 20" in found.detail
    assert sorted(qdrant.collections) == ["docs"], "the scratch collection was left behind after a failure"


def test_each_collection_is_verified_and_no_scratch_is_backed_up(platform: Platform, qdrant: QdrantDouble) -> None:
    qdrant.seed("docs", vectors(6))
    qdrant.seed("code", vectors(4, salt="c"))
    qdrant.seed("weekly-verify-docs-1", vectors(2, salt="old"))  # left by an interrupted run
    found = {f.subject: f for f in verify_backups(platform)}
    assert set(found) == {"docs", "code"}
    assert found["code"].verdict == "ok" and found["code"].data["points_restored"] == 4


def test_qdrant_down_fails_the_item_not_the_run(platform: Platform, qdrant: QdrantDouble, docs: str) -> None:
    qdrant.stop()
    (found,) = verify_backups(platform)
    assert found.verdict == "fail" and "unreachable" in found.detail


def test_no_qdrant_is_n_a_with_the_reason(platform: Platform, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("QDRANT_URL")
    qdrant_off = platform.services["qdrant"].model_copy(update={"enabled": False})
    off = platform.model_copy(update={"services": {**platform.services, "qdrant": qdrant_off}})
    (found,) = verify_backups(off)
    assert found.verdict == "n/a" and "no qdrant" in found.detail
