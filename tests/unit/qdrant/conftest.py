"""Fixtures of the Qdrant runbook tests: the spec-bound Qdrant test double, the rag test double,
a platform pointing at them (QDRANT_URL / RAG_URL, fast retries, a temporary backup location).

The spec is parsed once per session; each test gets fresh doubles, and a test fails when the
double saw a request, or gave an answer, that Qdrant's published spec does not allow.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from infra.spec import Platform, platform_from_config
from infra.spec.stackconfig import read_stack_config
from tests.doubles.openapi_binding import SpecMissing, load_spec
from tests.doubles.qdrant_double import QdrantDouble
from tests.doubles.rag_double import RagDouble

LIVE_URL = os.environ.get("QDRANT_URL", "").strip()


def vectors(n: int, dim: int = 8, salt: str = "") -> list[list[float]]:
    """Deterministic, distinct vectors (no ties in nearest-neighbour order)."""
    from tests.doubles.rag_double import embed

    return [embed(f"{salt}point-{i}", dim) for i in range(n)]


@pytest.fixture(scope="session")
def qdrant_spec() -> Any:
    try:
        return load_spec()
    except SpecMissing as err:
        pytest.skip(str(err))


@pytest.fixture
def qdrant(qdrant_spec: Any, tmp_path: Path) -> Iterator[QdrantDouble]:
    double = QdrantDouble(tmp_path / "qdrant-double-snapshots", qdrant_spec)
    with double:
        yield double
    violations = double.guard.take()
    assert not violations, "Qdrant spec violations:\n" + "\n".join(map(str, violations))


@pytest.fixture
def rag(qdrant: QdrantDouble) -> Iterator[RagDouble]:
    with RagDouble(qdrant.url) as double:
        yield double


def make_platform(tmp_path: Path, rag: bool = True, **backup: Any) -> Platform:
    """gpu-host's table (qdrant and rag enabled) with instant retries and a temporary backup location."""
    raw = dict(read_stack_config("gpu-host"))
    if not rag:
        raw["services"] = {**(raw.get("services") or {}), "rag": {"enabled": False}}
    raw["tuning"] = {**(raw.get("tuning") or {}), "QDRANT_MAX_RETRIES": 2, "QDRANT_RETRY_MIN_WAIT": 0,
                     "QDRANT_RETRY_MAX_WAIT": 0.05, "QDRANT_TIMEOUT": 10}  # fmt: skip
    raw["backup"] = {"location": str(tmp_path / "backups"), "keep_last": 2, "green_timeout_s": 10, **backup}
    return platform_from_config("gpu-host", raw, source="test")


@pytest.fixture
def platform(tmp_path: Path, qdrant: QdrantDouble, rag: RagDouble, monkeypatch: pytest.MonkeyPatch) -> Platform:
    monkeypatch.setenv("QDRANT_URL", qdrant.url)
    monkeypatch.setenv("RAG_URL", rag.url)
    monkeypatch.setenv("INFEROPS_RUNS_DIR", str(tmp_path / "runs"))
    return make_platform(tmp_path)


@pytest.fixture
def docs(qdrant: QdrantDouble) -> str:
    """A seeded collection `docs` of 20 points."""
    qdrant.seed("docs", vectors(20))
    return "docs"
