"""runbook.reload on the Kubernetes target: config edit + the EKS program's pod template + rollout.

No API server can run here, so the AppsV1Api is a double (`DeploymentsDouble`) that keeps one
Deployment and advances its rollout status as a controller would; everything else is real
(the EKS renderer, the stack file edit, the framework's rollback).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from types import SimpleNamespace as NS
from typing import Any

import pytest

from infra.spec import load_platform, stackconfig
from runbooks.framework import ExitCode, Options, execute
from runbooks.framework.display import Display
from runbooks.framework.record import latest
from runbooks.reload import k8s_steps
from runbooks.reload.runbook import runbook_for
from runbooks.reload.settings import prepare


class DeploymentsDouble:
    """Double of kubernetes.client.AppsV1Api for one Deployment: patches bump the generation; each
    read advances the rollout one step (observed → updated → available), unless `stuck`."""

    def __init__(self, args: list[str], replicas: int = 1, stuck: bool = False) -> None:
        self.args, self.replicas, self.stuck = args, replicas, stuck
        self.generation = self.observed = 1
        self.updated = self.available = replicas
        self.patches: list[dict[str, Any]] = []

    def patch_namespaced_deployment(self, name: str, namespace: str, body: dict[str, Any]) -> None:
        self.patches.append({"name": name, "namespace": namespace, "body": body})
        self.args = body["spec"]["template"]["spec"]["containers"][0]["args"]
        self.generation += 1
        self.updated = 0

    def read_namespaced_deployment(self, name: str, namespace: str) -> Any:
        if not self.stuck:
            if self.observed < self.generation:
                self.observed = self.generation
            elif self.updated < self.replicas:
                self.updated = self.replicas
        container = NS(args=self.args)
        return NS(
            metadata=NS(generation=self.generation, name=name),
            spec=NS(replicas=self.replicas, template=NS(spec=NS(containers=[container]))),
            status=NS(
                observed_generation=self.observed,
                updated_replicas=self.updated,
                replicas=self.replicas,
                available_replicas=self.updated,
            ),
        )


@pytest.fixture
def eks_stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    stacks = tmp_path / "stacks"
    stacks.mkdir()
    shutil.copy(stackconfig.STACKS_DIR / "Pulumi.eks-prod.yaml", stacks / "Pulumi.eks-prod.yaml")
    monkeypatch.setattr(stackconfig, "STACKS_DIR", stacks)
    monkeypatch.setattr(k8s_steps, "POLL_S", 0.0)
    return stacks / "Pulumi.eks-prod.yaml"


def _args(platform: Any, service: str) -> list[str]:
    return k8s_steps.template(platform, service)["spec"]["containers"][0]["args"]


def test_rollout_done_follows_kubectl_rollout_status() -> None:
    d = DeploymentsDouble(["a"], replicas=2, stuck=True)
    assert k8s_steps.rollout_done(d.read_namespaced_deployment("x", "ns"))[0]
    d.patch_namespaced_deployment("x", "ns", {"spec": {"template": {"spec": {"containers": [{"args": ["b"]}]}}}})
    done, why = k8s_steps.rollout_done(d.read_namespaced_deployment("x", "ns"))
    assert not done and "not seen" in why
    d.observed = d.generation
    done, why = k8s_steps.rollout_done(d.read_namespaced_deployment("x", "ns"))
    assert not done and "0 of 2 pods updated" in why


def test_reload_on_eks_writes_config_patches_the_rendered_template_and_waits(eks_stack: Path) -> None:
    platform = load_platform("eks-prod")
    change = prepare(platform, "inference-chat", ["ctx_size=2048"])
    api = DeploymentsDouble(_args(platform, "inference-chat"))
    rec = execute(runbook_for(change, api), Options(stack="eks-prod", yes=True), platform, Display(quiet=True))
    assert rec.exit_code == ExitCode.OK, rec.error
    assert len(api.patches) == 1
    sent = api.patches[0]["body"]["spec"]["template"]
    assert sent == k8s_steps.template(change.new, "inference-chat")  # what the EKS program renders
    assert sent["spec"]["containers"][0]["args"][sent["spec"]["containers"][0]["args"].index("-c") + 1] == "2048"
    assert load_platform("eks-prod").service("inference-chat").llama.ctx_size == 2048  # stack config agrees
    assert rec.config_changes[0]["changes"][0]["new"] == 2048 and rec.phase == "completed"


def test_a_stuck_rollout_rolls_back_template_and_stack_config(eks_stack: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = eks_stack.read_bytes()
    platform = load_platform("eks-prod")
    change = prepare(platform, "inference-chat", ["ctx_size=2048"])
    api = DeploymentsDouble(_args(platform, "inference-chat"), stuck=True)
    monkeypatch.setattr(k8s_steps, "_timeout", lambda change: 0.01)
    rec = execute(runbook_for(change, api), Options(stack="eks-prod", yes=True), platform, Display(quiet=True))
    assert rec.exit_code == ExitCode.ROLLBACK_FAILED  # the double never finishes the way back either
    assert [p["body"]["spec"]["template"]["spec"]["containers"][0]["args"] for p in api.patches] == [
        _args(change.new, "inference-chat"),
        _args(platform, "inference-chat"),
    ]
    assert eks_stack.read_bytes() == before  # restored byte for byte


def test_the_way_back_is_on_disk_before_the_template_is_patched(eks_stack: Path) -> None:
    """Write-ahead: when the patch goes out, the record already holds the `roll-back` undo with
    the old template, so a guard (or runbook.recover) can put it back if the runner dies now;
    the undo kind itself puts that template back."""
    platform = load_platform("eks-prod")
    change = prepare(platform, "inference-chat", ["ctx_size=2048"])
    pending: list[dict[str, Any]] = []

    class Watching(DeploymentsDouble):
        def patch_namespaced_deployment(self, name: str, namespace: str, body: dict[str, Any]) -> None:
            if not self.patches:
                undos = (latest("reload") or {}).get("pending_undos", [])
                pending.extend(u for u in undos if u["kind"] == "roll-back")
            super().patch_namespaced_deployment(name, namespace, body)

    api = Watching(_args(platform, "inference-chat"))
    rec = execute(runbook_for(change, api), Options(stack="eks-prod", yes=True), platform, Display(quiet=True))
    assert rec.exit_code == ExitCode.OK, rec.error
    assert [u["status"] for u in pending] == ["pending"]
    data = pending[0]["data"]
    assert data["service"] == "inference-chat" and data["namespace"] == platform.eks.namespaces.inference
    assert data["patch"] == k8s_steps.patch_body(platform, "inference-chat") and pending[0]["deadline"]
    assert api.args == _args(change.new, "inference-chat")
    k8s_steps.roll_back_to(platform, data, api)  # what the `roll-back` kind runs, given the apps client
    assert api.args == _args(platform, "inference-chat") and k8s_steps.rollout_done(api.read_namespaced_deployment(
        "inference-chat", data["namespace"]))[0]  # fmt: skip


def test_dry_run_on_eks_changes_nothing(eks_stack: Path) -> None:
    before = eks_stack.read_bytes()
    platform = load_platform("eks-prod")
    change = prepare(platform, "inference-chat", ["ctx_size=2048"])
    api = DeploymentsDouble(_args(platform, "inference-chat"))
    rec = execute(runbook_for(change, api), Options(stack="eks-prod", dry_run=True), platform, Display(quiet=True))
    assert rec.exit_code == ExitCode.OK and rec.status == "dry-run"
    assert api.patches == [] and eks_stack.read_bytes() == before
    assert rec.steps[0].detail["config_diff"] == change.diff and "2048" in change.diff
