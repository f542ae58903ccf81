"""KubernetesTarget against a real API server, controller-manager, scheduler and kwok: the stack's
own objects deployed, then state, stop/start (scale), restart (a real rolling update by the
Deployment controller), kill (the ReplicaSet replaces the pods), hold/release (scale to 0 and
wait until the pods are gone; a pod held by a finalizer makes the hold give up and scale back).

exec, logs and pause need a kubelet: they stay on the API double (tests/unit/targets), see docs/eks.md.
"""

from __future__ import annotations

from typing import Any

import pytest

from runbooks.targets.base import TargetError
from runbooks.targets.k8s_target import REPLICAS_ANNOTATION, RESTARTED_AT, KubernetesTarget
from tests.kube.conftest import Cluster
from tests.kube.deploy import poll

FINALIZER = "inferops.io/test-keeps-this-pod"
pytestmark = pytest.mark.timeout(600)  # the module fixture waits for every rollout of the stack


@pytest.fixture
def target(cluster: Cluster, deployed: list[dict[str, Any]]) -> KubernetesTarget:
    return KubernetesTarget(cluster.platform, api_client=cluster.api())


def pod_names(target: KubernetesTarget, service: str) -> set[str]:
    return {p.metadata.name for p in target.pods(service)}


def settled(target: KubernetesTarget, service: str) -> bool:
    """Healthy, and exactly the wanted number of pods, none terminating (a rollout is over)."""
    _, wl = target.workload(service)
    pods = target.pods(service)
    done = all(p.metadata.deletion_timestamp is None for p in pods) and len(pods) == (wl.spec.replicas or 0)
    return done and target.state(service).health == "healthy"


def test_ping_and_state_of_a_deployment_and_a_statefulset(target: KubernetesTarget) -> None:
    target.ping()
    rag, qdrant = target.state("rag"), target.state("qdrant")
    assert (rag.status, rag.health, rag.instance) == ("running", "healthy", "rag")
    assert (qdrant.status, qdrant.health) == ("running", "healthy")
    assert target.inspect("qdrant")["kind"] == "StatefulSet"  # the API server's kind


def test_a_service_the_program_does_not_deploy_is_missing(target: KubernetesTarget) -> None:
    assert target.state("prometheus").status == "missing"  # the cluster's operator runs Prometheus


def test_stop_keeps_the_replicas_and_start_puts_them_back(target: KubernetesTarget) -> None:
    _, before = target.workload("rag")
    want = before.spec.replicas
    target.stop("rag")
    _, stopped = target.workload("rag")
    assert stopped.spec.replicas == 0 and stopped.metadata.annotations[REPLICAS_ANNOTATION] == str(want)
    poll("rag's pods gone", lambda: not target.pods("rag"))
    assert target.state("rag").status == "stopped"
    target.start("rag")
    poll("rag back and healthy", lambda: settled(target, "rag"), 120)
    _, back = target.workload("rag")
    assert back.spec.replicas == want and REPLICAS_ANNOTATION not in (back.metadata.annotations or {})


def test_restart_is_a_rolling_update_by_the_deployment_controller(target: KubernetesTarget) -> None:
    old = pod_names(target, "rag")
    target.restart("rag")
    _, wl = target.workload("rag")
    assert RESTARTED_AT in wl.spec.template.metadata.annotations
    poll("every rag pod replaced", lambda: settled(target, "rag") and not (pod_names(target, "rag") & old), 120)


def test_kill_deletes_the_pods_and_the_replicaset_replaces_them(target: KubernetesTarget) -> None:
    old = pod_names(target, "rag")
    target.kill("rag")
    poll("new rag pods, healthy", lambda: settled(target, "rag") and not (pod_names(target, "rag") & old), 120)


def test_hold_returns_only_once_the_pods_are_gone_and_release_brings_them_back(target: KubernetesTarget) -> None:
    _, before = target.workload("rag")
    target.hold("rag")
    assert target.pods("rag") == []
    target.release("rag")
    poll("rag released and healthy", lambda: settled(target, "rag"), 120)
    assert target.workload("rag")[1].spec.replicas == before.spec.replicas


def test_a_hold_that_a_pod_outlives_scales_back(target: KubernetesTarget) -> None:
    """A finalizer keeps a pod Terminating (a stuck volume detach does the same on EKS)."""
    pod = sorted(pod_names(target, "rag"))[0]
    ns = target.namespace
    target.core.patch_namespaced_pod(pod, ns, {"metadata": {"finalizers": [FINALIZER]}})
    try:
        with pytest.raises(TargetError, match=f"pods {pod} still there 2 s after scaling to 0"):
            target.hold("rag", timeout_s=2)
        _, wl = target.workload("rag")
        assert wl.spec.replicas >= 1 and REPLICAS_ANNOTATION not in (wl.metadata.annotations or {})
    finally:
        target.core.patch_namespaced_pod(pod, ns, {"metadata": {"finalizers": None}})
    poll("rag healthy again", lambda: settled(target, "rag"), 120)
