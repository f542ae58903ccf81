"""KubernetesTarget on the real kubernetes client against the kube API test double, seeded with the
EKS program's objects (eks-prod: the qdrant StatefulSet, the rag and api-gateway Deployments...).

The read-only tests take `read_target`, so INFEROPS_KUBE_LIVE=1 with KUBECONFIG runs them against a
real cluster (see conftest); the others change workloads and only run against the double.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from infra.spec import Platform
from runbooks.targets import TargetError
from runbooks.targets.k8s_target import REPLICAS_ANNOTATION, RESTARTED_AT, KubernetesTarget
from tests.doubles.kube_double import KubeApiDouble, api_client
from tests.unit.targets.conftest import LIVE


def names(pods: list[dict]) -> list[str]:
    return sorted(p["metadata"]["name"] for p in pods)


# ---- read-only: the double, or a live cluster -------------------------------------------------
def test_ping_answers(read_target: KubernetesTarget) -> None:
    read_target.ping()


def test_state_of_the_qdrant_statefulset_and_the_rag_deployment(read_target: KubernetesTarget) -> None:
    for service in ("qdrant", "rag"):
        state = read_target.state(service)
        assert (state.status, state.health, state.instance) == ("running", "healthy", service)


def test_inspect_says_which_workload_it_is(read_target: KubernetesTarget) -> None:
    qdrant = read_target.inspect("qdrant")
    assert qdrant["kind"] == "StatefulSet" and qdrant["metadata"]["name"] == "qdrant"
    assert qdrant["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"] == "qdrant"
    assert read_target.inspect("rag")["kind"] == "Deployment"  # the API's kind wins over the target's key


def test_logs_of_the_running_pod(read_target: KubernetesTarget) -> None:
    text = read_target.logs("qdrant", tail=5)
    assert isinstance(text, str) and (LIVE or "qdrant-0: started" in text)


# ---- changes: the double only -----------------------------------------------------------------
def test_a_service_without_workload_is_missing(k8s: KubernetesTarget, kube: KubeApiDouble) -> None:
    assert k8s.state("prometheus").status == "missing"  # enabled, but kube-prometheus-stack runs it on EKS
    kube.remove("rag")
    assert k8s.state("rag").status == "missing"
    with pytest.raises(TargetError, match="no Deployment or StatefulSet 'rag' in Kubernetes namespace 'inference'"):
        k8s.stop("rag")


def test_stop_keeps_the_replicas_and_start_puts_them_back(k8s: KubernetesTarget, kube: KubeApiDouble) -> None:
    before = names(kube.pods_of("api-gateway"))
    assert len(before) == 2  # eks.gateway_replicas
    k8s.stop("api-gateway")
    gateway = kube.workload("api-gateway")
    assert gateway["spec"]["replicas"] == 0 and gateway["metadata"]["annotations"][REPLICAS_ANNOTATION] == "2"
    assert kube.pods_of("api-gateway") == [] and k8s.state("api-gateway").status == "stopped"
    k8s.start("api-gateway")
    gateway = kube.workload("api-gateway")
    assert gateway["spec"]["replicas"] == 2 and REPLICAS_ANNOTATION not in gateway["metadata"].get("annotations", {})
    assert len(kube.pods_of("api-gateway")) == 2 and k8s.state("api-gateway").health == "healthy"
    assert kube.scales == [("Deployment", "api-gateway", 0), ("Deployment", "api-gateway", 2)]


def test_start_uses_the_kept_count_not_the_stack_default(k8s: KubernetesTarget, kube: KubeApiDouble) -> None:
    kube.set_replicas("rag", 3)  # scaled by hand; the stack says 1
    k8s.stop("rag")
    k8s.start("rag")
    assert kube.workload("rag")["spec"]["replicas"] == 3 and len(kube.pods_of("rag")) == 3


def test_restart_sets_restarted_at_and_rolls_the_pods(k8s: KubernetesTarget, kube: KubeApiDouble) -> None:
    before = names(kube.pods_of("rag"))
    generation = kube.workload("rag")["metadata"]["generation"]
    k8s.restart("rag")
    rag = kube.workload("rag")
    stamp = rag["spec"]["template"]["metadata"]["annotations"][RESTARTED_AT]
    assert datetime.fromisoformat(stamp).tzinfo is not None
    assert rag["metadata"]["generation"] == generation + 1 == rag["status"]["observedGeneration"]
    after = kube.pods_of("rag")
    assert len(after) == 1 and names(after) != before
    assert after[0]["metadata"]["annotations"][RESTARTED_AT] == stamp


def test_kill_deletes_the_pods_and_the_controller_replaces_them(k8s: KubernetesTarget, kube: KubeApiDouble) -> None:
    before = names(kube.pods_of("api-gateway"))
    k8s.kill("api-gateway")
    assert sorted(kube.deleted_pods) == before
    after = names(kube.pods_of("api-gateway"))
    assert len(after) == 2 and not set(after) & set(before)
    [qdrant] = kube.pods_of("qdrant")
    k8s.kill("qdrant")
    [again] = kube.pods_of("qdrant")  # a StatefulSet's pod comes back under its name, as a new pod
    assert again["metadata"]["name"] == "qdrant-0" and again["metadata"]["uid"] != qdrant["metadata"]["uid"]


def test_hold_waits_until_the_pods_are_gone(k8s: KubernetesTarget, kube: KubeApiDouble) -> None:
    kube.linger = 3  # the pod stays listed (terminating) for 3 more lists
    k8s.hold("rag")
    lists = [p for m, p in kube.requests if m == "GET" and "/pods?" in p]
    assert len(lists) == 4 and k8s.state("rag").status == "stopped"
    assert kube.scales == [("Deployment", "rag", 0)]
    k8s.release("rag")
    assert kube.scales[-1] == ("Deployment", "rag", 1) and k8s.state("rag").health == "healthy"


def test_a_hold_that_times_out_scales_back(k8s: KubernetesTarget, kube: KubeApiDouble) -> None:
    kube.linger = 10**6  # the pod never goes
    with pytest.raises(TargetError, match=r"pods rag-\S+ still there 0.3 s after scaling to 0 .*scaled back"):
        k8s.hold("rag", timeout_s=0.3)
    assert kube.scales == [("Deployment", "rag", 0), ("Deployment", "rag", 1)]
    assert REPLICAS_ANNOTATION not in kube.workload("rag")["metadata"].get("annotations", {})


def test_a_wrong_token_is_a_401_naming_the_namespace(kube: KubeApiDouble, eks: Platform) -> None:
    target = KubernetesTarget(eks, api_client=api_client(kube, token="not-the-token"))
    with pytest.raises(TargetError, match=r"Kubernetes namespace 'inference' \(context eks-prod\): 401"):
        target.ping()
    with pytest.raises(TargetError, match="401"):  # not "missing": no answer is not an absent workload
        target.state("rag")
    assert kube.scales == []


def test_an_api_server_that_is_down_does_not_answer(k8s: KubernetesTarget, kube: KubeApiDouble) -> None:
    kube.stop()
    with pytest.raises(TargetError, match=r"Kubernetes namespace 'inference' .*does not answer"):
        k8s.ping()
    with pytest.raises(TargetError, match="does not answer"):
        k8s.state("qdrant")


def test_an_unknown_service_is_named(k8s: KubernetesTarget, kube: KubeApiDouble) -> None:
    with pytest.raises(KeyError, match="unknown service 'vector-db' in stack 'eks-prod'"):
        k8s.stop("vector-db")
    assert kube.requests == []


def test_the_double_refuses_what_the_schema_rejects(k8s: KubernetesTarget, kube: KubeApiDouble) -> None:
    """The binding can fail: a patch that would store a misspelt field is 422 and a violation."""
    with pytest.raises(TargetError, match=r"patch deployment rag .*422"):
        k8s._patch("rag", {"spec": {"replica": 2}})
    violations = kube.guard.take()
    assert violations and "replica" in violations[0]
    assert "replica" not in kube.workload("rag")["spec"]
