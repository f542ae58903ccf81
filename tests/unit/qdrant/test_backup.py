"""runbook.qdrant-backup against the Qdrant test double: happy path, retention, checksum mismatch,
backup location unwritable or full, Qdrant down. Scenarios run through both stores (directory and
the S3 test double, see conftest); filesystem ones through the directory store only."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest

from infra.spec.model import Platform
from runbooks.qdrant.manifest import Manifest
from tests.doubles.qdrant_double import QdrantDouble
from tests.unit.qdrant.conftest import dir_only, make_platform, vectors
from tests.unit.qdrant.scenarios import read_backup, run_backup, step, store, stored


def test_backup_writes_a_verified_snapshot_and_manifest(platform: Platform, qdrant: QdrantDouble, docs: str) -> None:
    record = run_backup(platform)
    assert record.exit_code == 0, record.error
    [manifest] = store(platform).manifests(docs)
    data = read_backup(store(platform), docs, manifest.snapshot)
    assert hashlib.sha256(data).hexdigest() == manifest.sha256
    assert manifest.sha256 == qdrant.snapshots[docs][manifest.snapshot].checksum
    assert manifest.points_count == 20
    assert manifest.config["params"]["vectors"] == {"size": 8, "distance": "Cosine"}
    assert manifest.probe is not None and len(manifest.probe.ids) == platform.backup.probe_limit
    assert manifest.probe.ids[0] == 1  # the probe vector is point 1's own: it is its nearest neighbour
    [row] = record.measurements["collections"]
    assert row["ok"] and row["points_count"] == 20


def test_retention_keeps_the_last_n_locally_and_on_the_server(tmp_path: Path, platform: Platform,
                                                               qdrant: QdrantDouble, docs: str) -> None:  # fmt: skip
    limited = make_platform(tmp_path, location=platform.backup.location, keep_last=2, keep_on_server=1)
    names = []
    for _ in range(3):
        assert run_backup(limited).exit_code == 0
        names.append(store(limited).manifests(docs)[-1].snapshot)
    kept = [m.snapshot for m in store(limited).manifests(docs)]
    assert kept == names[1:]
    assert names[0] not in stored(store(limited), docs)
    assert list(qdrant.snapshots[docs]) == names[2:]


def test_only_the_named_collections(platform: Platform, qdrant: QdrantDouble, docs: str) -> None:
    qdrant.seed("other", vectors(4))
    assert run_backup(platform, "other").exit_code == 0
    assert store(platform).collections() == ["other"]


def test_unknown_collection_is_named_and_nothing_is_written(platform: Platform, docs: str) -> None:
    record = run_backup(platform, "nope")
    assert record.exit_code == 1
    assert "'nope'" in record.error and "docs" in record.error
    assert store(platform).collections() == []


def test_corrupted_transfer_is_detected_and_discarded(platform: Platform, qdrant: QdrantDouble, docs: str) -> None:
    qdrant.faults.corrupt_download = True
    record = run_backup(platform)
    assert record.exit_code == 1
    assert "sha256" in record.error and "corrupted" in record.error
    assert stored(store(platform), docs) == []  # no snapshot, no .part or unfinished upload, no manifest


@dir_only
def test_unwritable_location_fails_before_any_snapshot(tmp_path: Path, platform: Platform,
                                                       qdrant: QdrantDouble, docs: str) -> None:  # fmt: skip
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    bad = make_platform(tmp_path, location=str(blocker / "backups"))
    record = run_backup(bad)
    assert record.exit_code == 1
    assert str(blocker) in record.error and "not writable" in record.error
    assert step(record, "backup location").status == "failed"
    assert qdrant.snapshots.get(docs, {}) == {}


@pytest.fixture
def tiny_disk(tmp_path: Path):
    """A 64 KiB tmpfs: a backup location that fills up (needs root to mount)."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {done.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", str(mount)], check=True)


@dir_only
def test_full_location_is_reported_and_leaves_no_partial_file(tiny_disk: Path, tmp_path: Path, platform: Platform,
                                                              qdrant: QdrantDouble) -> None:  # fmt: skip
    qdrant.seed("big", vectors(600, dim=64))  # a snapshot of several hundred KiB
    full = make_platform(tmp_path, location=str(tiny_disk))
    record = run_backup(full)
    assert record.exit_code == 1
    assert "is full" in record.error and str(tiny_disk) in record.error
    assert [p.name for p in (tiny_disk / "big").iterdir()] == []


@dir_only  # about Qdrant, not the store
def test_qdrant_down_is_one_clear_line_naming_the_address(platform: Platform, qdrant: QdrantDouble) -> None:
    qdrant.stop()
    record = run_backup(platform)
    assert record.exit_code == 3  # Missing: Qdrant does not answer
    assert step(record, "qdrant health").status == "failed"
    assert f"Qdrant at {qdrant.url} is unreachable" in record.error
    assert "after 3 attempts" in record.error  # QDRANT_MAX_RETRIES=2 → 3 attempts
    assert "Traceback" not in record.error and "traceback" not in step(record, "qdrant health").detail


@dir_only  # about Qdrant, not the store
def test_a_restarting_qdrant_is_retried(platform: Platform, qdrant: QdrantDouble, docs: str) -> None:
    qdrant.faults.unavailable = 2  # two 503s, then it answers: within QDRANT_MAX_RETRIES=2
    record = run_backup(platform)
    assert record.exit_code == 0, record.error
    assert qdrant.faults.unavailable == 0


def test_manifest_round_trip(tmp_path: Path) -> None:
    m = Manifest(collection="c", snapshot="s.snapshot", sha256="ab", size=1, created_at=Manifest.now(),
                 qdrant_url="http://x", points_count=3, config={"params": {}})  # fmt: skip
    path = m.write(tmp_path)
    assert Manifest.read(path) == m
