"""The manifest written beside each snapshot: what a restore must find again to call itself done.

A snapshot file alone cannot say whether a restore worked. The manifest records, at backup time,
the collection config, the exact points count and a probe query (a stored vector and the ids it
returned), plus the file's sha256, so a restore can be verified end to end and a corrupted file is
refused before anything is touched.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict

FORMAT: Final = "inferops-qdrant-backup/1"
SUFFIX = ".manifest.json"


class Probe(BaseModel):
    """A nearest-neighbour query with a vector taken from the collection, and the ids it returned."""

    model_config = ConfigDict(extra="forbid")

    vector: list[float]
    using: str | None = None  # the vector name for collections with named vectors
    limit: int
    ids: list[int | str]


class Manifest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: Literal["inferops-qdrant-backup/1"] = FORMAT
    collection: str
    snapshot: str  # file name of the snapshot, in the same directory as the manifest
    sha256: str
    size: int
    created_at: str  # UTC, ISO 8601 with microseconds: sorts in creation order
    qdrant_url: str
    points_count: int
    config: dict[str, Any]
    probe: Probe | None = None

    @staticmethod
    def now() -> str:
        return datetime.now(UTC).isoformat(timespec="microseconds")

    def snapshot_path(self, directory: Path) -> Path:
        return directory / self.snapshot

    def write(self, directory: Path) -> Path:
        """Write atomically (temp file + rename): a manifest on disk always describes a whole file."""
        path = directory / f"{self.snapshot}{SUFFIX}"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(self.model_dump_json(indent=2))
        tmp.replace(path)
        return path

    @classmethod
    def read(cls, path: Path) -> Manifest:
        return cls.model_validate_json(path.read_text())
