"""Fixtures of the reload unit tests: a stack file of their own, records in a temporary runs/."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.spec import stackconfig
from runbooks.framework.record import RUNS_ENV

STACK = """# the reload tests' stack
config:
  inferops:target: compose
  inferops:gpuHost: false
  inferops:tuning:
    LLAMA_PARALLEL: 2   # an operator's comment
  inferops:services:
    inference-chat:
      model: /models/tiny.gguf
      gpus: 0
      ctx_size: 512
    alerts-list:
      - a
    qdrant: {enabled: false}
    rag: {enabled: false}
    grafana: {enabled: false}
    node-exporter: {enabled: false}
    dcgm-exporter: {enabled: false}
"""


@pytest.fixture(autouse=True)
def runs_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "runs"
    monkeypatch.setenv(RUNS_ENV, str(path))
    return path


@pytest.fixture
def stack_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """stacks/Pulumi.rl.yaml in a temporary stacks/ directory."""
    stacks = tmp_path / "stacks"
    stacks.mkdir()
    monkeypatch.setattr(stackconfig, "STACKS_DIR", stacks)
    path = stacks / "Pulumi.rl.yaml"
    path.write_text(STACK.replace("    alerts-list:\n      - a\n", ""))
    return path
