"""The backup location: one directory per collection holding snapshot files and their manifests.

`open_store(platform)` picks the store for `inferops:backup.location`: this `LocalStore` for a
directory, `runbooks.qdrant.s3store.S3Store` for `s3://bucket/prefix` (same interface, `Store`).

Layout: `<location>/<collection>/<snapshot>` + `<snapshot>.manifest.json`; copies taken just before
a restore go to `<location>/<collection>/pre-restore/`. Files are written as `.part` and renamed
when complete, so a full disk or a Ctrl-C never leaves a half file that looks like a backup.
"""

from __future__ import annotations

import errno
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol

from runbooks.qdrant.errors import BackupLocationError, NoSnapshot
from runbooks.qdrant.manifest import SUFFIX, Manifest

if TYPE_CHECKING:
    from infra.spec.model import Platform

PRE_RESTORE = "pre-restore"
SPACE_MARGIN = 1.05  # free space wanted beyond the snapshot size


class Store(Protocol):
    """What the backup and restore operations need from a backup location."""

    @property
    def location(self) -> str: ...
    def uri(self, collection: str, name: str, pre_restore: bool = False) -> str: ...
    def ensure_writable(self, collection: str, pre_restore: bool = False) -> object: ...
    def ensure_space(self, collection: str, size: int, pre_restore: bool = False) -> None: ...
    def receive(self, collection: str, name: str, pre_restore: bool = False, size: int = 0) -> Any: ...
    def write_manifest(self, manifest: Manifest, pre_restore: bool = False) -> str: ...
    def manifests(self, collection: str, pre_restore: bool = False) -> list[Manifest]: ...
    def collections(self) -> list[str]: ...
    def find(self, collection: str, snapshot: str = "latest") -> tuple[Manifest, Path]: ...
    def local_file(self, manifest: Manifest, pre_restore: bool = False) -> Path: ...
    def prune(self, collection: str, keep: int, pre_restore: bool = False) -> list[str]: ...
    def close(self) -> None: ...


def open_store(platform: Platform) -> Store:
    """The store for the stack's `inferops:backup.location`: a directory or an S3 URI."""
    if platform.backup.is_s3:
        from runbooks.qdrant.s3store import S3Store

        return S3Store.for_platform(platform)
    return LocalStore.for_platform(platform)


def _human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


class LocalStore:
    """A backup location on a filesystem (local disk, NFS, a mounted volume)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def for_platform(cls, platform: Platform) -> LocalStore:
        from infra.spec.stackconfig import ROOT

        location = platform.backup.location
        if platform.backup.is_s3:
            raise BackupLocationError(f"backup location {location} is an S3 URI: open it with open_store()")
        path = Path(location)
        return cls(path if path.is_absolute() else ROOT / path)

    @property
    def location(self) -> str:
        return str(self.root)

    def uri(self, collection: str, name: str, pre_restore: bool = False) -> str:
        return str(self.directory(collection, pre_restore) / name)

    def directory(self, collection: str, pre_restore: bool = False) -> Path:
        base = self.root / collection
        return base / PRE_RESTORE if pre_restore else base

    def ensure_writable(self, collection: str, pre_restore: bool = False) -> Path:
        """Create the directory and prove a file can be written there, before any snapshot is taken."""
        directory = self.directory(collection, pre_restore)
        probe = directory / ".write-test"
        try:
            directory.mkdir(parents=True, exist_ok=True)
            probe.write_bytes(b"ok")
            probe.unlink()
        except OSError as err:
            raise BackupLocationError(
                f"backup location {directory} is not writable ({err.strerror or err}); fix its permissions or "
                "mount, or set inferops:backup.location to a writable directory"
            ) from None
        return directory

    def ensure_space(self, collection: str, size: int, pre_restore: bool = False) -> None:
        directory = self.directory(collection, pre_restore)
        free = shutil.disk_usage(directory).free
        if free < size * SPACE_MARGIN:
            raise BackupLocationError(
                f"backup location {directory} is full: the snapshot needs {_human(size)}, {_human(free)} free; "
                "free space there or lower inferops:backup.keep_last"
            )

    @contextmanager
    def receive(self, collection: str, name: str, pre_restore: bool = False, size: int = 0) -> Iterator[IO[bytes]]:
        """A file to write snapshot bytes into; it appears under `name` only if the block succeeds."""
        final = self.directory(collection, pre_restore) / name
        part = final.with_name(final.name + ".part")
        try:
            with part.open("wb") as fh:
                yield fh
            part.replace(final)
        except OSError as err:
            part.unlink(missing_ok=True)
            if err.errno in (errno.ENOSPC, errno.EDQUOT):
                raise BackupLocationError(
                    f"backup location {final.parent} is full (disk filled while writing {name}); "
                    "free space there or lower inferops:backup.keep_last"
                ) from None
            raise BackupLocationError(f"cannot write {final}: {err.strerror or err}") from None
        except BaseException:
            part.unlink(missing_ok=True)
            raise

    def write_manifest(self, manifest: Manifest, pre_restore: bool = False) -> str:
        return str(manifest.write(self.directory(manifest.collection, pre_restore)))

    def local_file(self, manifest: Manifest, pre_restore: bool = False) -> Path:
        return self.directory(manifest.collection, pre_restore) / manifest.snapshot

    def close(self) -> None:
        """Nothing to release: the files are the backup."""

    def manifests(self, collection: str, pre_restore: bool = False) -> list[Manifest]:
        """Manifests of the collection whose snapshot file exists, oldest first."""
        directory = self.directory(collection, pre_restore)
        found = []
        for path in directory.glob(f"*{SUFFIX}"):
            try:
                manifest = Manifest.read(path)
            except ValueError:
                continue
            if (directory / manifest.snapshot).is_file():
                found.append(manifest)
        return sorted(found, key=lambda m: m.created_at)

    def collections(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and self.manifests(p.name))

    def find(self, collection: str, snapshot: str = "latest") -> tuple[Manifest, Path]:
        """The manifest and snapshot file to restore: the newest backup, or the file given."""
        if snapshot == "latest":
            manifests = self.manifests(collection)
            if not manifests:
                raise NoSnapshot(
                    f"no backup of collection {collection!r} in {self.directory(collection)}; run "
                    "`invoke runbook.qdrant-backup` first, or `invoke runbook.qdrant-restore --reindex --yes` "
                    "to rebuild it through RAG"
                )
            latest = manifests[-1]
            return latest, self.directory(collection) / latest.snapshot
        path = Path(snapshot)
        manifest_path = path if path.name.endswith(SUFFIX) else path.with_name(path.name + SUFFIX)
        if not manifest_path.is_file():
            raise NoSnapshot(f"no manifest {manifest_path} beside snapshot {snapshot}: cannot verify a restore from it")
        manifest = Manifest.read(manifest_path)
        file = manifest_path.parent / manifest.snapshot
        if not file.is_file():
            raise NoSnapshot(f"snapshot file {file} named by {manifest_path} is missing")
        if manifest.collection != collection:
            raise NoSnapshot(f"{file} is a backup of {manifest.collection!r}, not of {collection!r}")
        return manifest, file

    def prune(self, collection: str, keep: int, pre_restore: bool = False) -> list[str]:
        """Delete all but the newest `keep` backups; returns the snapshot names removed."""
        directory = self.directory(collection, pre_restore)
        manifests = self.manifests(collection, pre_restore)
        removed = []
        for manifest in manifests[: max(0, len(manifests) - keep)]:
            (directory / manifest.snapshot).unlink(missing_ok=True)
            (directory / f"{manifest.snapshot}{SUFFIX}").unlink(missing_ok=True)
            removed.append(manifest.snapshot)
        return removed
