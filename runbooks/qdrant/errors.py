"""Errors of the Qdrant runbooks: one line an operator can act on, never a traceback."""

from __future__ import annotations

from runbooks.framework.errors import Missing, RunbookError


class QdrantError(RunbookError):
    """Qdrant answered something the runbook cannot work with (the message names the address)."""


class QdrantUnreachable(QdrantError, Missing):
    """Qdrant did not answer at all after the configured retries."""


class ChecksumMismatch(QdrantError):
    """A snapshot's bytes do not match the sha256 Qdrant (or the manifest) reported."""


class BackupLocationError(QdrantError):
    """The backup location cannot take the snapshot: missing, unwritable, full, or not supported."""


class NoSnapshot(QdrantError):
    """No usable backup of the collection exists (the reindex fallback is the way out)."""


class VerificationFailed(QdrantError):
    """A restored collection does not match its manifest (points count, probe query, config)."""
