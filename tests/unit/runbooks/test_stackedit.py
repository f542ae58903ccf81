"""Stack config edits for config-changing runbooks: diff, validation first, record, byte-exact restore."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.spec import ConfigError, stackconfig
from runbooks.framework import ExitCode, Options, Run, Runbook, RunbookError, Step, execute
from runbooks.framework.display import Display
from runbooks.framework.stackedit import StackConfigEdit

STACK = """# a comment the operator wrote
config:
  inferops:target: compose
  inferops:gpuHost: false
  inferops:tuning:
    LLAMA_PARALLEL: 2   # keep this comment
  inferops:services:
    qdrant: {enabled: false}
    rag: {enabled: false}
    grafana: {enabled: false}
    node-exporter: {enabled: false}
    dcgm-exporter: {enabled: false}
"""


@pytest.fixture
def stacks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(stackconfig, "STACKS_DIR", tmp_path)
    path = tmp_path / "Pulumi.edit.yaml"
    path.write_text(STACK)
    return path


def test_set_shows_a_diff_and_keeps_comments(stacks: Path) -> None:
    edit = StackConfigEdit("edit")
    edit.set("tuning.CHAT_N_GPU_LAYERS", 500)
    assert edit.get("tuning.CHAT_N_GPU_LAYERS") == 500 and edit.changes == [("tuning.CHAT_N_GPU_LAYERS", None, 500)]
    assert "+    CHAT_N_GPU_LAYERS: 500" in edit.diff()
    assert "# keep this comment" in edit.text() and "# a comment the operator wrote" in edit.text()
    assert edit.validate().tuning.CHAT_N_GPU_LAYERS == 500
    assert stacks.read_text() == STACK  # nothing written before apply


def test_invalid_value_is_a_config_error_and_nothing_is_written(stacks: Path) -> None:
    edit = StackConfigEdit("edit")
    edit.set("tuning.LLAMA_PARALLEL", 0)
    with pytest.raises(ConfigError, match=r"inferops:tuning\.LLAMA_PARALLEL"):
        edit.apply()
    assert stacks.read_text() == STACK


def test_apply_records_and_failed_run_restores_the_file_exactly(stacks: Path) -> None:
    seen: dict = {}

    def change(run: Run) -> None:
        edit = StackConfigEdit("edit")
        edit.set("tuning.LLAMA_PARALLEL", 4)
        edit.apply(run)
        seen["during"] = stacks.read_text()

    def fail(run: Run) -> None:
        raise RunbookError("verification failed")

    book = Runbook("cfg", "cfg", (Step("change", change), Step("verify", fail)), exclusive=False)
    rec = execute(book, Options(stack="edit"), display=Display(quiet=True))
    assert "LLAMA_PARALLEL: 4" in seen["during"]
    assert stacks.read_text() == STACK
    assert rec.exit_code == ExitCode.FAILED
    change_rec = rec.config_changes[0]
    assert change_rec["changes"] == [{"key": "tuning.LLAMA_PARALLEL", "old": 2, "new": 4}]
    assert "-    LLAMA_PARALLEL: 2" in change_rec["diff"] and "+    LLAMA_PARALLEL: 4" in change_rec["diff"]
    assert rec.rollbacks[0].name == "restore Pulumi.edit.yaml" and rec.rollbacks[0].status == "ok"
