"""The Kubernetes runbooks against the tier's control plane, each through its own way of reaching
the cluster (the stack config's kubeconfig and context, as an operator runs them):

- daily-check's EKS checks (seed 003: GPU nodes Ready, inference pods Running): every line ok on
  the deployed stack, a cordoned GPU node warns, a pod the scheduler cannot place warns;
- reload on EKS: the stack config written, the pod template patched with what the program renders,
  the Deployment controller's real rolling update waited for, the result verified;
- reload on EKS with its runner SIGKILLed mid-rollout (every node cordoned, so the rollout waits):
  the guard patches the old template back and restores the stack file;
- qdrant backup/restore's hold of the writer (rag): scale to 0 and wait until its pods are gone,
  through the same KubernetesTarget the restore runbook is given (the Qdrant side stays on its
  spec-bound double: tests/unit/qdrant).

runbook.health and runbook.restart wait on HTTP health endpoints, which nothing serves on kwok: their
Kubernetes part is the target's (test_k8s_target.py); their HTTP part stays on the doubles.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from infra.spec import load_platform
from runbooks.daily import kube
from runbooks.framework import ExitCode, Options, execute
from runbooks.framework.display import Display
from runbooks.reload.runbook import runbook_for
from runbooks.reload.settings import prepare
from runbooks.targets import target_for
from runbooks.targets.k8s_target import KubernetesTarget
from tests.kube.conftest import STACK, Cluster
from tests.kube.deploy import poll, rolled_out
from tests.support.live import INVOKE, ROOT

pytestmark = pytest.mark.timeout(600)


def by_subject(findings: list[Any]) -> dict[str, Any]:
    return {f.subject: f for f in findings}


def test_daily_check_eks_lines_are_ok_on_the_deployed_stack(stacks: Path, deployed: list[dict[str, Any]]) -> None:
    target = target_for(load_platform(STACK))  # the runbook's own: kubeconfig and context from config
    nodes = kube.gpu_nodes(target)
    assert nodes and all(f.verdict == "ok" for f in nodes), [(f.subject, f.verdict, f.detail) for f in nodes]
    assert all("8 GPU(s)" in f.detail for f in nodes)
    pods = kube.pods(target)
    assert pods and all(f.verdict == "ok" and f.detail == "Running, ready" for f in pods), [
        (f.subject, f.verdict, f.detail) for f in pods
    ]


@pytest.fixture
def cordoned(cluster: Cluster) -> Iterator[str]:
    from kubernetes import client

    core = client.CoreV1Api(cluster.api())
    name = f"{cluster.platform.eks.gpu_pool.name}-{cluster.platform.eks.zone_list[0]}"
    core.patch_node(name, {"spec": {"unschedulable": True}})
    yield name
    core.patch_node(name, {"spec": {"unschedulable": None}})


def test_daily_check_warns_about_a_cordoned_gpu_node(stacks: Path, cordoned: str, local: Any) -> None:
    finding = by_subject(kube.gpu_nodes(target_for(load_platform(STACK))))[cordoned]
    assert finding.verdict == "warn" and "cordoned" in finding.detail


@pytest.fixture
def unplaceable(cluster: Cluster, deployed: list[dict[str, Any]]) -> Iterator[str]:
    """A pod in the inference namespace asking for more GPUs than any node has."""
    from kubernetes import client

    core = client.CoreV1Api(cluster.api())
    ns = cluster.platform.eks.namespaces.inference
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "too-big"},
        "spec": {
            "containers": [
                {"name": "c", "image": "example.invalid/x:1", "resources": {"limits": {"nvidia.com/gpu": "64"}}}
            ],
            "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
        },
    }
    core.create_namespaced_pod(ns, pod)
    yield "too-big"
    core.delete_namespaced_pod("too-big", ns, grace_period_seconds=0)
    poll("too-big deleted", lambda: not core.list_namespaced_pod(ns, field_selector="metadata.name=too-big").items)


def test_daily_check_warns_about_a_pod_the_scheduler_cannot_place(stacks: Path, unplaceable: str) -> None:
    finding = by_subject(kube.pods(target_for(load_platform(STACK))))[unplaceable]
    assert finding.verdict == "warn" and finding.detail == "Pending, not ready"


def test_reload_rolls_the_deployment_out_with_the_rendered_template(
    cluster: Cluster, stacks: Path, deployed: list[dict[str, Any]]
) -> None:
    from kubernetes import client

    from runbooks.reload import k8s_steps

    platform = load_platform(STACK)
    change = prepare(platform, "inference-chat", ["ctx_size=2048"])
    apps = client.AppsV1Api(cluster.api())
    try:
        record = execute(runbook_for(change), Options(stack=STACK, yes=True), platform, Display(quiet=True))
        dep = apps.read_namespaced_deployment("inference-chat", platform.eks.namespaces.inference)
    finally:  # the deployed objects are shared: put the template back as the stack config renders it
        undo = {"service": "inference-chat", "namespace": platform.eks.namespaces.inference, "timeout_s": 120}
        k8s_steps.roll_back_to(platform, {**undo, "patch": k8s_steps.patch_body(platform, "inference-chat")}, apps)
    assert record.exit_code == ExitCode.OK, record.error
    args = dep.spec.template.spec.containers[0].args
    assert args == k8s_steps.template(change.new, "inference-chat")["spec"]["containers"][0]["args"]
    assert args[args.index("-c") + 1] == "2048"
    assert k8s_steps.rollout_done(dep)[0] and "rollout_s" in record.measurements
    assert load_platform(STACK).service("inference-chat").llama.ctx_size == 2048  # the stack config agrees
    chat = next(o for o in deployed if o["kind"] == "Deployment" and o["metadata"]["name"] == "inference-chat")
    assert rolled_out(cluster.api(), chat)


@pytest.fixture
def nowhere_to_schedule(cluster: Cluster, deployed: list[dict[str, Any]]) -> Iterator[None]:
    """Every node cordoned: a rollout's new pod stays Pending (maxUnavailable 0 keeps the old one)."""
    from kubernetes import client

    core = client.CoreV1Api(cluster.api())
    names = [n.metadata.name for n in core.list_node().items if not n.spec.unschedulable]
    try:
        for name in names:
            core.patch_node(name, {"spec": {"unschedulable": True}})
        yield
    finally:
        for name in names:
            core.patch_node(name, {"spec": {"unschedulable": None}})


def test_reload_runner_killed_mid_rollout_the_guard_rolls_the_template_back(
    cluster: Cluster, stacks: Path, nowhere_to_schedule: None, tmp_path: Path
) -> None:
    """SIGKILL of `invoke runbook.reload` while its rollout waits: the guard patches the old
    template back (the `roll-back` undo) and restores the stack file (`restore-file`)."""
    from kubernetes import client

    from runbooks.reload import k8s_steps

    platform = load_platform(STACK)
    ns, name = platform.eks.namespaces.inference, "inference-chat"
    apps = client.AppsV1Api(cluster.api())
    generation = apps.read_namespaced_deployment(name, ns).metadata.generation
    before = stacks.read_bytes()
    runs = tmp_path / "runs"
    env = {**os.environ, "INFEROPS_STACKS_DIR": str(stacks.parent), "INFEROPS_RUNS_DIR": str(runs)}
    args = ["runbook.reload", "--stack", STACK, "--service", name, "--set", "ctx_size=1024", "--yes"]
    proc = subprocess.Popen([INVOKE, *args], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        poll(
            "the new template patched", lambda: _generation(apps, name, ns) > generation or proc.poll() is not None, 120
        )
        assert proc.poll() is None, "the reload ended before its rollout"
        proc.kill()
        proc.wait(timeout=10)
        old_args = k8s_steps.template(platform, name)["spec"]["containers"][0]["args"]
        poll("the old template back", lambda: _args(apps, name, ns) == old_args, 60)
        poll("the run record closed", lambda: _record(runs)["status"] != "running", 120)
    finally:
        if proc.poll() is None:
            proc.kill()
    record = _record(runs)
    undo = next(u for u in record["pending_undos"] if u["kind"] == "roll-back")
    assert record["status"] == "rolled-back" and "runner pid" in record["error"]
    assert undo["status"] == "done" and undo["by"] == "guard"
    assert k8s_steps.rollout_done(apps.read_namespaced_deployment(name, ns))[0]
    assert stacks.read_bytes() == before  # the stack file's own durable undo


def _generation(apps: Any, name: str, ns: str) -> int:
    return int(apps.read_namespaced_deployment(name, ns).metadata.generation)


def _args(apps: Any, name: str, ns: str) -> list[str]:
    return list(apps.read_namespaced_deployment(name, ns).spec.template.spec.containers[0].args or [])


def _record(runs: Path) -> dict[str, Any]:
    found = sorted(runs.glob("[0-9]*.json"))
    return json.loads(found[-1].read_text()) if found else {"status": "running"}


def test_the_restore_s_hold_on_the_writer_and_its_release(
    cluster: Cluster, stacks: Path, deployed: list[dict[str, Any]]
) -> None:
    """What restore_runbook does around the copy: hold rag (0 pods), then release (its replicas back)."""
    target = KubernetesTarget(load_platform(STACK))  # kubeconfig and context from the stack config
    _, before = target.workload("rag")
    target.hold("rag")
    assert target.pods("rag") == [] and target.state("rag").status == "stopped"
    target.release("rag")
    rag = next(o for o in deployed if o["metadata"]["name"] == "rag" and o["kind"] == "Deployment")
    poll("rag rolled out again", lambda: rolled_out(cluster.api(), rag), 120)
    assert target.workload("rag")[1].spec.replicas == before.spec.replicas
