"""Failures only the S3 backup location has, against the S3 test double (moto's server): the bucket
is missing, access is denied, an upload is interrupted; and how the EKS stack's store is built."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from infra.spec import load_platform
from infra.spec.model import Platform
from runbooks.qdrant.errors import BackupLocationError
from runbooks.qdrant.s3store import MIN_PART, S3Store, part_size
from runbooks.qdrant.store import open_store
from tests.doubles.qdrant_double import QdrantDouble
from tests.doubles.s3_double import SECRET_KEY, S3Double, objects, open_uploads
from tests.unit.qdrant.conftest import make_platform, use_s3_double
from tests.unit.qdrant.scenarios import run_backup, step


@pytest.fixture
def store_kind() -> str:
    """Every `platform` in this module backs up to a fresh bucket in the S3 test double."""
    return "s3"


def test_missing_bucket_names_the_bucket_and_the_fix(tmp_path: Path, platform: Platform, qdrant: QdrantDouble,
                                                      docs: str) -> None:  # fmt: skip
    missing = make_platform(tmp_path, location="s3://no-such-inferops-bucket/qdrant")
    record = run_backup(missing)
    assert record.exit_code == 1
    assert step(record, "backup location").status == "failed"
    assert "S3 bucket 'no-such-inferops-bucket' does not exist" in record.error
    assert "aws s3 mb s3://no-such-inferops-bucket" in record.error
    assert qdrant.snapshots.get(docs, {}) == {}  # failed before any snapshot was taken


def test_access_denied_is_named_and_no_credential_is_printed(platform: Platform, qdrant: QdrantDouble, docs: str,
                                                             s3_double: S3Double,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    bucket = platform.backup.location.removeprefix("s3://").split("/")[0]
    with s3_double.deny_all() as creds:
        for name, value in creds.items():
            monkeypatch.setenv(name, value)
        record = run_backup(platform)
    assert record.exit_code == 1
    assert step(record, "backup location").status == "failed"
    assert f"access denied to {platform.backup.location}" in record.error
    assert "s3:PutObject" in record.error and f"bucket {bucket!r}" in record.error
    dumped = json.dumps(record.to_dict(), default=str)
    for secret in (creds["AWS_SECRET_ACCESS_KEY"], SECRET_KEY):
        assert secret not in record.error and secret not in dumped
    assert qdrant.snapshots.get(docs, {}) == {}


def test_interrupted_upload_leaves_no_half_object(platform: Platform, s3_double: S3Double) -> None:
    store = open_store(platform)
    assert isinstance(store, S3Store)
    store.ensure_writable("docs")
    uploaded_parts = 0
    with pytest.raises(KeyboardInterrupt), store.receive("docs", "big.snapshot", size=3 * MIN_PART) as fh:
        fh.write(b"x" * (MIN_PART + 1024))  # one whole part is already in S3
        uploaded_parts = len(fh.parts)
        raise KeyboardInterrupt  # Ctrl-C mid-transfer
    assert uploaded_parts == 1
    client = s3_double.client()
    assert objects(client, store.bucket) == []
    assert open_uploads(client, store.bucket) == []  # aborted, not left to accumulate storage


def test_multipart_upload_round_trips_the_bytes(platform: Platform, s3_double: S3Double) -> None:
    store = open_store(platform)
    assert isinstance(store, S3Store)
    data = bytes(range(256)) * ((2 * MIN_PART + 12345) // 256)
    with store.receive("docs", "big.snapshot", size=len(data)) as fh:
        for i in range(0, len(data), 1 << 20):
            fh.write(data[i : i + (1 << 20)])
    assert len(fh.parts) == 3
    body = s3_double.client().get_object(Bucket=store.bucket, Key=store.key("docs", "big.snapshot"))["Body"].read()
    assert hashlib.sha256(body).digest() == hashlib.sha256(data).digest()


def test_part_size_keeps_under_s3s_part_limit() -> None:
    assert part_size(0) == MIN_PART
    assert part_size(200 << 30) * 9999 >= 200 << 30  # a 200 GiB snapshot still fits in 10,000 parts


def test_eks_stack_backs_up_to_s3_in_its_region_with_tls_verified(tmp_path: Path, s3_double: S3Double,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    use_s3_double(s3_double, tmp_path, monkeypatch)
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3")  # the real AWS endpoint: nothing is sent in this test
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")  # must not win over the stack's eks.region
    eks = load_platform("eks-prod")
    store = open_store(eks)
    assert isinstance(store, S3Store)
    assert store.location == eks.backup.location and store.location.startswith("s3://")
    assert store.client.meta.region_name == eks.eks.region == "ap-northeast-2"
    assert store.client.meta.endpoint_url.startswith("https://")
    assert store.client._endpoint.http_session._verify is not False  # TLS verification stays on


def test_non_s3_uri_is_refused() -> None:
    with pytest.raises(BackupLocationError, match="not an s3://bucket/prefix URI"):
        from runbooks.qdrant.s3store import parse_uri

        parse_uri("http://bucket/prefix")
