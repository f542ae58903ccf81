"""Fixtures of the weekly-check unit tests: records in a temporary runs/ directory, the runbook
tests' own stack (tests/unit/runbooks/conftest.py: no qdrant, no GPU)."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.spec import Platform
from runbooks.framework.record import RUNS_ENV
from tests.unit.runbooks.conftest import unit_platform


@pytest.fixture(autouse=True)
def runs_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "runs"
    monkeypatch.setenv(RUNS_ENV, str(path))
    return path


@pytest.fixture
def platform() -> Platform:
    return unit_platform()
