"""Backup settings of a stack: where Qdrant snapshots go and how many are kept (seed 004 weekly backup)."""

from __future__ import annotations

import re

from pydantic import Field, field_validator

from infra.spec.base import Strict

SECRET_KEYS: tuple[str, ...] = ()

S3_URI = re.compile(r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[^\s]*)?$")


class Backup(Strict):
    """`location`: a directory (relative paths are relative to the repository root) or `s3://bucket/prefix`."""

    location: str = Field("backups/qdrant", min_length=1)
    keep_last: int = Field(7, ge=1, le=1000)  # snapshots kept in the backup location, per collection
    keep_on_server: int = Field(1, ge=0, le=100)  # snapshots left on the Qdrant server, per collection
    snapshot_timeout_s: float = Field(900, gt=0, le=86400)  # create/download/upload of one snapshot
    green_timeout_s: float = Field(300, gt=0, le=86400)  # wait for a recovered collection to turn green
    probe_limit: int = Field(5, ge=1, le=100)  # ids kept from the probe query in each manifest
    index_timeout_s: float = Field(3600, gt=0, le=86400)  # RAG `POST /index` (the reindex fallback)

    @field_validator("location")
    @classmethod
    def _location(cls, value: str) -> str:
        if "://" in value and not S3_URI.match(value):
            raise ValueError("must be a directory or an s3://bucket/prefix URI")
        return value

    @property
    def is_s3(self) -> bool:
        return self.location.startswith("s3://")
