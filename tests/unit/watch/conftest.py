"""Fixtures of the watch's unit tests: state, records and outbox go to temporary directories.

tests/unit is on sys.path while tests are collected and holds a test package named `runbooks`,
which can shadow the project's package of the same name: the project's directory is made part of
whichever `runbooks` got imported, so `runbooks.watch` always resolves to this checkout.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import runbooks as _runbooks

_SRC = str(Path(__file__).resolve().parents[3] / "runbooks")
if _SRC not in list(_runbooks.__path__):
    _runbooks.__path__.append(_SRC)

from runbooks.framework.record import RUNS_ENV  # noqa: E402
from runbooks.watch.store import STATE_ENV  # noqa: E402


@pytest.fixture(autouse=True)
def watch_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Never the checkout's .state/ or runs/."""
    monkeypatch.setenv(RUNS_ENV, str(tmp_path / "runs"))
    monkeypatch.setenv(STATE_ENV, str(tmp_path / "watch-state"))
    return tmp_path / "watch-state"


OFF = ("qdrant", "rag", "grafana", "node-exporter", "dcgm-exporter", "cadvisor")


def watch_platform(watch: dict | None = None, **extra: object):
    """The default service table, CPU only, with a `watch` section (and other keys) given."""
    from infra.spec import platform_from_config

    raw = {
        "target": "compose",
        "gpuHost": False,
        "services": {
            **{n: {"gpus": 0} for n in ("inference-chat", "inference-code", "embedding")},
            **{
                n: {"enabled": False}
                for n in ("qdrant", "rag", "grafana", "node-exporter", "dcgm-exporter", "cadvisor")
            },
        },
        "watch": watch or {},
    }
    extra_services = extra.pop("services", {})
    raw["services"] = {**raw["services"], **extra_services}  # type: ignore[dict-item]
    raw.update(extra)
    return platform_from_config("unit", raw, source="tests/unit/watch/conftest.py")
