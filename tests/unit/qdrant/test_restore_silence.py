"""qdrant-restore holds rag for as long as the restore takes, which can outlast the `for:` of the
alerts a down rag fires: the hold is silenced (rag's ServiceDown, that service only) in a real
Alertmanager (the pinned build, on loopback), until the hold's deadline, and the silence is
expired when the run ends, whether it restored or rolled back. Qdrant and rag are the doubles."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from infra.spec.model import Platform
from tests.doubles.qdrant_double import QdrantDouble
from tests.doubles.rag_double import RagDouble
from tests.support.alertmanager import running_alertmanager
from tests.support.monitoring_tools import use
from tests.unit.qdrant.conftest import make_platform, vectors
from tests.unit.qdrant.scenarios import run_backup, run_restore

pytestmark = pytest.mark.monitoring_tools("alertmanager")


def _silences(url: str, state: str = "active") -> list[dict[str, Any]]:
    resp = httpx.get(f"{url}/api/v2/silences", timeout=5)
    resp.raise_for_status()
    return [s for s in resp.json() if s["status"]["state"] == state]


class SeenAtHold:
    """The rag double as the writers' target, noting Alertmanager's active silences when held."""

    def __init__(self, rag: RagDouble, url: str) -> None:
        self.rag, self.url = rag, url
        self.at_hold: list[dict[str, Any]] = []

    @property
    def where(self) -> str:
        return self.rag.where

    def hold(self, service: str) -> None:
        self.at_hold = _silences(self.url)
        self.rag.hold(service)

    def release(self, service: str) -> None:
        self.rag.release(service)


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[tuple[str, int]]:
    with running_alertmanager(use("alertmanager"), tmp_path / "alertmanager") as found:
        yield found


@pytest.fixture
def silenced(tmp_path: Path, qdrant: QdrantDouble, rag: RagDouble, alertmanager: tuple[str, int],
             monkeypatch: pytest.MonkeyPatch) -> Platform:  # fmt: skip
    monkeypatch.setenv("QDRANT_URL", qdrant.url)
    monkeypatch.setenv("RAG_URL", rag.url)
    monkeypatch.setenv("INFEROPS_RUNS_DIR", str(tmp_path / "runs"))
    platform = make_platform(tmp_path, alertmanager_port=alertmanager[1], location=str(tmp_path / "backups"))
    qdrant.seed("docs", vectors(20))
    assert run_backup(platform).exit_code == 0
    return platform


def test_the_hold_is_silenced_for_rag_only_and_expired_after(
    silenced: Platform, rag: RagDouble, alertmanager: tuple[str, int]
) -> None:
    url, _ = alertmanager
    writers = SeenAtHold(rag, url)
    record = run_restore(silenced, writers, "docs")
    assert record.exit_code == 0, record.error
    [silence] = writers.at_hold
    matchers = {m["name"]: m["value"] for m in silence["matchers"]}
    assert matchers == {"alertname": "ServiceDown", "service": "rag"} and record.id in silence["comment"]
    assert record.measurements["silences"] == [silence["id"]]
    assert _silences(url) == [] and [s["id"] for s in _silences(url, "expired")] == [silence["id"]]


def test_a_restore_that_rolls_back_expires_its_silence_too(
    silenced: Platform, qdrant: QdrantDouble, rag: RagDouble, alertmanager: tuple[str, int]
) -> None:
    url, _ = alertmanager
    qdrant.faults.fail_recover = 1
    writers = SeenAtHold(rag, url)
    record = run_restore(silenced, writers, "docs")
    assert record.exit_code == 1 and len(writers.at_hold) == 1
    assert rag.events == ["hold rag", "release rag"] and _silences(url) == []


def test_a_dry_run_shows_the_silence_and_creates_none(silenced: Platform, rag: RagDouble,
                                                      alertmanager: tuple[str, int]) -> None:  # fmt: skip
    record = run_restore(silenced, rag, "docs", dry_run=True)
    hold = next(s for s in record.steps if s.name == "hold writers")
    assert record.exit_code == 0 and hold.status == "planned"
    assert _silences(alertmanager[0]) == [] and rag.events == []
