"""What the steps of qdrant-backup and qdrant-restore share: one dataclass, set as the run goes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runbooks.framework import Run, RunbookError, Undo

if TYPE_CHECKING:  # the clients import qdrant-client: only when a step first needs them
    from runbooks.qdrant.connection import Qdrant
    from runbooks.qdrant.manifest import Manifest
    from runbooks.qdrant.store import Store

__all__ = ["QdrantRun", "client", "store"]


@dataclass
class QdrantRun:
    """None until the step that makes it: the connection, the backup location, the backup chosen,
    the undo of the writers' hold, and the vectors config a reindex recreates with."""

    qdrant: Qdrant | None = None
    store: Store | None = None
    backup: tuple[Manifest, Path] | None = None
    hold_undo: Undo | None = None
    config: dict[str, Any] | None = None


def client(run: Run) -> Qdrant:
    """The run's Qdrant connection, made on first use and closed at the end of the run."""
    state = run.state_as(QdrantRun)
    if state.qdrant is None:
        from runbooks.qdrant.connection import Qdrant

        state.qdrant = Qdrant.for_platform(run.stack_platform)
        run.cleanup("close connections", state.qdrant.close)
    return state.qdrant


def store(run: Run) -> Store:
    """The backup location the location step opened."""
    opened = run.state_as(QdrantRun).store
    if opened is None:
        raise RunbookError("no backup location is open: the step that opens it has not run")
    return opened
