"""The backup location in S3 (`s3://bucket/prefix`, the EKS stack): same interface as `LocalStore`.

Layout mirrors the directory store: `<prefix>/<collection>/<snapshot>` + `<snapshot>.manifest.json`,
pre-restore copies under `<prefix>/<collection>/pre-restore/`. Snapshots are streamed into a
multipart upload (one part in memory at a time) that is completed only when the block writing it
succeeds; a checksum mismatch, an error or a Ctrl-C aborts the upload, so no half object ever
exists. Credentials come from boto3's standard chain (IRSA on EKS), TLS verification stays on,
and no error message carries a credential: only the bucket, the key and S3's error code.
"""

from __future__ import annotations

import contextlib
import functools
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from runbooks.qdrant.errors import BackupLocationError, NoSnapshot
from runbooks.qdrant.manifest import SUFFIX, Manifest

if TYPE_CHECKING:
    from infra.spec.model import Platform

PRE_RESTORE = "pre-restore"
MIN_PART = 8 << 20  # S3 needs parts of at least 5 MiB (all but the last)
MAX_PARTS = 10_000
PERMISSIONS = "s3:ListBucket, s3:GetObject, s3:PutObject, s3:DeleteObject and s3:AbortMultipartUpload"
NOT_FOUND = ("NoSuchBucket", "404", "NotFound")
DENIED = ("AccessDenied", "403", "Forbidden", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken",
          "InvalidToken", "AllAccessDisabled")  # fmt: skip


def parse_uri(uri: str) -> tuple[str, str]:
    """`s3://bucket/some/prefix` → (bucket, "some/prefix")."""
    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise BackupLocationError(f"{uri!r} is not an s3://bucket/prefix URI")
    return parsed.netloc, parsed.path.strip("/")


def part_size(size: int) -> int:
    """Parts big enough that a snapshot of `size` bytes fits in S3's 10,000 parts."""
    return max(MIN_PART, -(-size // (MAX_PARTS - 1)))


class _PartWriter:
    """A write-only file that turns bytes into parts of a multipart upload."""

    def __init__(self, store: S3Store, key: str, upload_id: str, size: int, tee: Any = None) -> None:
        self.store, self.key, self.upload_id, self.tee = store, key, upload_id, tee
        self.part_size = part_size(size)
        self.buffer = bytearray()
        self.parts: list[dict[str, Any]] = []

    def write(self, data: bytes) -> int:
        self.buffer += data
        if self.tee is not None:
            self.tee.write(data)
        while len(self.buffer) >= self.part_size:
            self._send(bytes(self.buffer[: self.part_size]))
            del self.buffer[: self.part_size]
        return len(data)

    def _send(self, body: bytes) -> None:
        number = len(self.parts) + 1
        with self.store.errors(f"upload part {number} of {self.key}"):
            resp = self.store.client.upload_part(
                Bucket=self.store.bucket, Key=self.key, UploadId=self.upload_id, PartNumber=number, Body=body
            )
        self.parts.append({"PartNumber": number, "ETag": resp["ETag"]})

    def complete(self) -> None:
        if self.buffer or not self.parts:
            self._send(bytes(self.buffer))
            self.buffer.clear()
        with self.store.errors(f"complete upload of {self.key}"):
            self.store.client.complete_multipart_upload(
                Bucket=self.store.bucket, Key=self.key, UploadId=self.upload_id, MultipartUpload={"Parts": self.parts}
            )


class S3Store:
    """A backup location in an S3 bucket (or an S3-compatible endpoint: AWS_ENDPOINT_URL_S3)."""

    def __init__(self, bucket: str, prefix: str, client: Any, region: str | None = None) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.client = client
        self.region = region
        self._scratch: Path | None = None
        self._local: dict[str, Path] = {}

    @classmethod
    def for_platform(cls, platform: Platform) -> S3Store:
        """boto3's standard credential chain; the region of the EKS stack when the target is eks."""
        import boto3
        import botocore.session
        from botocore.config import Config

        bucket, prefix = parse_uri(platform.backup.location)
        region = platform.eks.region if platform.target == "eks" else None
        timeout = platform.backup.snapshot_timeout_s
        config = Config(
            connect_timeout=30, read_timeout=timeout, retries={"mode": "standard", "max_attempts": 5}
        )  # verify is left to boto3's default: on, honouring AWS_CA_BUNDLE
        core = botocore.session.get_session()  # a fresh session: credentials are resolved anew
        core.register_component("data_loader", _loader())
        client = boto3.session.Session(botocore_session=core).client("s3", region_name=region, config=config)
        return cls(bucket, prefix, client, region)

    # -- names -------------------------------------------------------------------------------------

    @property
    def location(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}".rstrip("/")

    def _dir_key(self, collection: str, pre_restore: bool = False) -> str:
        parts = [p for p in (self.prefix, collection, PRE_RESTORE if pre_restore else "") if p]
        return "/".join(parts) + "/" if parts else ""

    def key(self, collection: str, name: str, pre_restore: bool = False) -> str:
        return self._dir_key(collection, pre_restore) + name

    def uri(self, collection: str, name: str, pre_restore: bool = False) -> str:
        return f"s3://{self.bucket}/{self.key(collection, name, pre_restore)}"

    # -- errors ------------------------------------------------------------------------------------

    @contextmanager
    def errors(self, what: str, bucket_op: bool = False) -> Iterator[None]:
        """botocore failures → one BackupLocationError line naming the bucket and the fix."""
        from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

        try:
            yield
        except ClientError as err:
            code = str(err.response.get("Error", {}).get("Code", ""))
            status = str(err.response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))
            raise self._client_error(what, code or status, bucket_op or code == "NoSuchBucket") from None
        except NoCredentialsError:
            raise BackupLocationError(
                f"{what}: no AWS credentials found for {self.location}: on EKS give the runbook's service account "
                "an IRSA role; elsewhere set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
            ) from None
        except BotoCoreError as err:
            raise BackupLocationError(f"{what} on {self.location} failed: {type(err).__name__}: {err}") from None

    def _client_error(self, what: str, code: str, bucket_missing: bool) -> BackupLocationError:
        if code in NOT_FOUND and bucket_missing:
            region = f" --region {self.region}" if self.region else ""
            return BackupLocationError(
                f"S3 bucket {self.bucket!r} does not exist ({what}; inferops:backup.location = {self.location}): "
                f"create it (aws s3 mb s3://{self.bucket}{region}) or set inferops:backup.location to an existing "
                "bucket"
            )
        if code in DENIED:
            return BackupLocationError(
                f"access denied to {self.location} ({what}: {code}): the AWS identity in use (the IRSA role on EKS, "
                f"AWS_PROFILE elsewhere) needs {PERMISSIONS} on bucket {self.bucket!r}"
            )
        return BackupLocationError(f"{what} on {self.location} failed: S3 answered {code}")

    # -- the store interface -----------------------------------------------------------------------

    def ensure_writable(self, collection: str, pre_restore: bool = False) -> None:
        """The bucket exists and this identity may write and delete there, before any snapshot is taken."""
        with self.errors("check the bucket", bucket_op=True):
            self.client.head_bucket(Bucket=self.bucket)
        probe = self.key(collection, ".write-test", pre_restore)
        with self.errors(f"write test object {probe}", bucket_op=True):
            self.client.put_object(Bucket=self.bucket, Key=probe, Body=b"ok")
            self.client.delete_object(Bucket=self.bucket, Key=probe)

    def ensure_space(self, collection: str, size: int, pre_restore: bool = False) -> None:
        """S3 does not fill up; one object may hold 5 TiB."""
        if size > 5 << 40:
            raise BackupLocationError(f"snapshot of {collection!r} is {size} bytes: over S3's 5 TiB object limit")

    @contextmanager
    def receive(self, collection: str, name: str, pre_restore: bool = False, size: int = 0) -> Iterator[_PartWriter]:
        """A multipart upload to write snapshot bytes into; the object appears only if the block succeeds.

        Pre-restore copies are also kept in a local scratch file: a rollback must not depend on S3.
        """
        key = self.key(collection, name, pre_restore)
        with self.errors(f"start upload of {key}", bucket_op=True):
            upload_id = self.client.create_multipart_upload(Bucket=self.bucket, Key=key)["UploadId"]
        local = self._scratch_dir() / key.replace("/", "__") if pre_restore else None
        try:
            with local.open("wb") if local else _nothing() as tee:
                writer = _PartWriter(self, key, upload_id, size, tee)
                yield writer
            writer.complete()
        except BaseException:
            self._abort(key, upload_id)
            if local:
                local.unlink(missing_ok=True)
            raise
        if local:
            self._local[key] = local

    def _abort(self, key: str, upload_id: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        # The original error matters more; a bucket lifecycle rule cleans up what an abort could not.
        with contextlib.suppress(BotoCoreError, ClientError):
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)

    def write_manifest(self, manifest: Manifest, pre_restore: bool = False) -> str:
        key = self.key(manifest.collection, f"{manifest.snapshot}{SUFFIX}", pre_restore)
        with self.errors(f"write manifest {key}"):
            self.client.put_object(
                Bucket=self.bucket, Key=key, Body=manifest.model_dump_json(indent=2).encode(),
                ContentType="application/json",
            )  # fmt: skip
        return f"s3://{self.bucket}/{key}"

    def _list(self, prefix: str) -> tuple[list[str], list[str]]:
        """Keys and sub-prefixes directly under `prefix`."""
        keys: list[str] = []
        subdirs: list[str] = []
        with self.errors(f"list {prefix or '/'}", bucket_op=True):
            for page in self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=prefix, Delimiter="/"
            ):
                keys += [o["Key"] for o in page.get("Contents", [])]
                subdirs += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
        return keys, subdirs

    def _read_manifest(self, key: str) -> Manifest:
        with self.errors(f"read manifest {key}"):
            body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        return Manifest.model_validate_json(body)

    def manifests(self, collection: str, pre_restore: bool = False) -> list[Manifest]:
        """Manifests of the collection whose snapshot object exists, oldest first."""
        base = self._dir_key(collection, pre_restore)
        keys, _ = self._list(base)
        present = set(keys)
        found = []
        for key in keys:
            if not key.endswith(SUFFIX):
                continue
            try:
                manifest = self._read_manifest(key)
            except ValueError:
                continue
            if base + manifest.snapshot in present:
                found.append(manifest)
        return sorted(found, key=lambda m: m.created_at)

    def collections(self) -> list[str]:
        _, subdirs = self._list(self._dir_key(""))
        names = [d.rstrip("/").rsplit("/", 1)[-1] for d in subdirs]
        return sorted(n for n in names if self.manifests(n))

    def find(self, collection: str, snapshot: str = "latest") -> tuple[Manifest, Path]:
        """The manifest and a local copy of the snapshot to restore: the newest backup, or the one named
        (`s3://bucket/key` of the snapshot or its manifest, or a snapshot name in the collection)."""
        if snapshot == "latest":
            manifests = self.manifests(collection)
            if not manifests:
                raise NoSnapshot(
                    f"no backup of collection {collection!r} in {self.location}/{collection}/; run "
                    "`invoke runbook.qdrant-backup` first, or `invoke runbook.qdrant-restore --reindex --yes` "
                    "to rebuild it through RAG"
                )
            latest = manifests[-1]
            return latest, self._download(self.bucket, self.key(collection, latest.snapshot))
        bucket, key = (
            parse_uri(snapshot) if snapshot.startswith("s3://") else (self.bucket, self.key(collection, snapshot))
        )
        manifest_key = key if key.endswith(SUFFIX) else key + SUFFIX
        other = S3Store(bucket, "", self.client, self.region) if bucket != self.bucket else self
        try:
            manifest = other._read_manifest(manifest_key)
        except BackupLocationError as err:
            raise NoSnapshot(f"no manifest s3://{bucket}/{manifest_key} for snapshot {snapshot}: {err}") from None
        if manifest.collection != collection:
            raise NoSnapshot(f"s3://{bucket}/{key} is a backup of {manifest.collection!r}, not of {collection!r}")
        snapshot_key = (
            manifest_key.rsplit("/", 1)[0] + "/" + manifest.snapshot if "/" in manifest_key else manifest.snapshot
        )
        return manifest, self._download(bucket, snapshot_key)

    def local_file(self, manifest: Manifest, pre_restore: bool = False) -> Path:
        """A local file of the backup, to upload to Qdrant: the scratch copy, or downloaded now."""
        key = self.key(manifest.collection, manifest.snapshot, pre_restore)
        return self._local.get(key) or self._download(self.bucket, key)

    def _download(self, bucket: str, key: str) -> Path:
        """Stream the object to the scratch directory (restores upload local files to Qdrant)."""
        path = self._scratch_dir() / key.replace("/", "__")
        what = f"download s3://{bucket}/{key}"
        try:
            with self.errors(what), path.open("wb") as fh:
                body = self.client.get_object(Bucket=bucket, Key=key)["Body"]
                for chunk in body.iter_chunks(1 << 20):
                    fh.write(chunk)
        except OSError as err:
            path.unlink(missing_ok=True)
            raise BackupLocationError(f"{what}: cannot write {path}: {err.strerror or err}; set TMPDIR") from None
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return path

    def prune(self, collection: str, keep: int, pre_restore: bool = False) -> list[str]:
        """Delete all but the newest `keep` backups; returns the snapshot names removed."""
        manifests = self.manifests(collection, pre_restore)
        doomed = [m.snapshot for m in manifests[: max(0, len(manifests) - keep)]]
        for name in doomed:
            with self.errors(f"delete {name}"):
                for key in (
                    self.key(collection, f"{name}{SUFFIX}", pre_restore),
                    self.key(collection, name, pre_restore),
                ):
                    self.client.delete_object(Bucket=self.bucket, Key=key)
        return doomed

    def _scratch_dir(self) -> Path:
        if self._scratch is None:
            self._scratch = Path(tempfile.mkdtemp(prefix="inferops-qdrant-s3-"))
        return self._scratch

    def close(self) -> None:
        """Remove the scratch copies (after any rollback has used them)."""
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None
            self._local.clear()


@functools.cache
def _loader() -> Any:
    """botocore's model loader, shared: parsing the S3 API model once saves ~0.1 s per store opened."""
    from botocore.loaders import create_loader

    return create_loader()


@contextmanager
def _nothing() -> Iterator[None]:
    yield None
