"""Fixtures of the watch's unit tests: state, records and outbox go to temporary directories."""

from __future__ import annotations

from pathlib import Path

import pytest

from runbooks.framework.record import RUNS_ENV
from runbooks.watch.store import STATE_ENV


@pytest.fixture(autouse=True)
def watch_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Never the checkout's .state/ or runs/."""
    monkeypatch.setenv(RUNS_ENV, str(tmp_path / "runs"))
    monkeypatch.setenv(STATE_ENV, str(tmp_path / "watch-state"))
    return tmp_path / "watch-state"
