"""The EKS diagnoses through `invoke` (JSON on stdout, read-only without --yes), and the live switch:
with INFEROPS_KUBE_LIVE=1 and KUBECONFIG, the four read-only diagnoses run against that cluster."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit.eks.conftest import LIVE
from tests.unit.eks.helpers import diagnose
from tests.unit.eks.test_karpenter_scenarios import UNTOLERATED, _pending_gpu_pod

ROOT = Path(__file__).resolve().parents[3]
INVOKE = Path(sys.executable).with_name("invoke")


def test_invoke_json_is_the_run_record_and_changes_nothing(
    cluster, eks_objects: list, stack_file: Path, runs_dir: Path
) -> None:
    _pending_gpu_pod(cluster, eks_objects, tolerations=[])
    cluster.scheduler_event("inference-chat-5c9d7-x7k2p", UNTOLERATED)
    before = stack_file.read_text()
    env = {**os.environ, "INFEROPS_RUNS_DIR": str(runs_dir)}
    done = subprocess.run(
        [str(INVOKE), "runbook.karpenter-diagnose", "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert record["runbook"] == "karpenter-diagnose" and record["status"] == "ok"
    assert record["measurements"]["diagnosis"]["causes"] == ["missing-toleration"]
    human = subprocess.run(
        [str(INVOKE), "runbook.karpenter-diagnose"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert human.returncode == 0 and human.stdout == ""  # --json alone writes stdout; people read stderr
    for shown in ("looked at", "missing-toleration", "evidence: Warning FailedScheduling", "what to do:"):
        assert shown in human.stderr, human.stderr
    assert stack_file.read_text() == before


@pytest.mark.skipif(not LIVE, reason="set INFEROPS_KUBE_LIVE=1 and KUBECONFIG to run the diagnoses on a real cluster")
@pytest.mark.parametrize("module", ["karpenter", "gpu_oom", "model_loading", "network"])
def test_read_only_diagnosis_on_a_live_cluster(live_stack: Path, module: str) -> None:
    before = live_stack.read_text()
    record = diagnose(module)
    assert record.exit_code == 0, record.error
    assert record.measurements["diagnosis"]["looked_at"]
    assert live_stack.read_text() == before and not record.config_changes
