"""Fixtures of the runbook unit tests: records go to a temporary runs/ directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.spec import Platform, platform_from_config
from runbooks.framework.record import RUNS_ENV


@pytest.fixture(autouse=True)
def runs_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "runs"
    monkeypatch.setenv(RUNS_ENV, str(path))
    return path


# The runbook tests' own stack: the default service table, CPU only, without the services that
# have no image here (the same shape as stacks/Pulumi.local.yaml, but independent of its edits).
TEST_STACK = {
    "target": "compose",
    "gpuHost": False,
    "gateway": {"cooldown_time_s": 1, "health_check_interval_s": 1},
    "services": {
        **{
            n: {"gpus": 0, "health": {"interval_s": 2, "timeout_s": 2, "start_period_s": 5}}
            for n in ("inference-chat", "inference-code", "embedding")
        },
        **{n: {"enabled": False} for n in ("qdrant", "rag", "grafana", "node-exporter", "dcgm-exporter", "cadvisor")},
    },
}


def unit_platform() -> Platform:
    return platform_from_config("unit", TEST_STACK, source="tests/unit/runbooks/conftest.py")


@pytest.fixture
def platform() -> Platform:
    return unit_platform()
