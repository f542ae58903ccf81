"""The control plane itself: TLS and tokens, the pinned version, kwok nodes shaped like the stack's
NodePools, and what only a real API server and scheduler show: CEL rules of the Karpenter CRDs
evaluated (create and update), the scheduler's reasons for a pod that fits nowhere."""

from __future__ import annotations

import copy
import json
import ssl
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from infra.kube.seed import GPU_PRESENT, NODEPOOL_LABEL
from infra.targets.k8s.karpenter import karpenter_objects
from infra.targets.k8s.pods import GPU_RESOURCE
from tests.kube.conftest import Cluster

DEADLINE_S = 60.0


def wait_for(what: str, check: Callable[[], Any], timeout_s: float = DEADLINE_S) -> Any:
    """Poll `check` until it returns something truthy; fail naming `what` at the deadline."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not after {timeout_s:g} s")
        time.sleep(0.2)


@pytest.fixture
def core(cluster: Cluster) -> Any:
    from kubernetes import client

    return client.CoreV1Api(cluster.api())


@pytest.fixture
def custom(cluster: Cluster) -> Any:
    from kubernetes import client

    return client.CustomObjectsApi(cluster.api())


@pytest.fixture
def scratch_ns(core: Any) -> Iterator[str]:
    from kubernetes import client

    name = f"t-{uuid.uuid4().hex[:8]}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    # Pods are admitted once the service-account controller has made the namespace's `default`.
    wait_for("the default service account", lambda: core.list_namespaced_service_account(name).items)
    yield name
    core.delete_namespace(name)


def test_the_api_server_is_the_pinned_minor_over_verified_tls(cluster: Cluster, local: Any) -> None:
    from kubernetes import client

    info = client.VersionApi(cluster.api()).get_code()
    assert (info.major, info.minor) == tuple(cluster.platform.eks.kubernetes_version.split("."))
    # The kubeconfig's CA is what makes the connection trusted: without it verification fails.
    with pytest.raises(urllib.error.URLError) as refused:
        urllib.request.urlopen(f"{local.server}/version", context=ssl.create_default_context(), timeout=5)
    assert "CERTIFICATE_VERIFY_FAILED" in str(refused.value)


def test_a_wrong_token_is_refused(cluster: Cluster, local: Any, tmp_path: Path) -> None:
    import yaml
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    from infra.kube.ops import api_client

    doc = yaml.safe_load(cluster.kubeconfig.read_text())
    doc["users"][0]["user"]["token"] = "not-a-token"
    (tmp_path / "kubeconfig").write_text(yaml.safe_dump(doc))
    with pytest.raises(ApiException) as err:
        client.CoreV1Api(api_client(tmp_path / "kubeconfig", cluster.context)).list_namespace()
    assert err.value.status == 401


def test_kwok_nodes_are_ready_and_shaped_like_the_node_pools(cluster: Cluster, core: Any, local: Any) -> None:
    eks = cluster.platform.eks

    def ready_nodes() -> list[Any]:
        """Nodes Ready and untainted by the node lifecycle controller, which lifts its
        `node.kubernetes.io/not-ready` taint a moment after the Ready condition turns True."""
        nodes = core.list_node().items

        def settled(n: Any) -> bool:
            ready = any(c.type == "Ready" and c.status == "True" for c in n.status.conditions or [])
            return ready and not any(t.key.startswith("node.kubernetes.io/") for t in n.spec.taints or [])

        return nodes if nodes and all(settled(n) for n in nodes) else []

    nodes = wait_for("every kwok node Ready", ready_nodes)
    gpu = [n for n in nodes if n.metadata.labels.get(NODEPOOL_LABEL) == eks.gpu_pool.name]
    cpu = [n for n in nodes if n.metadata.labels.get(NODEPOOL_LABEL) == eks.cpu_pool.name]
    assert sorted(n.metadata.labels["topology.kubernetes.io/zone"] for n in gpu) == sorted(eks.zone_list)
    assert len(cpu) == len(eks.zone_list)
    for node in gpu:
        assert node.metadata.labels["node.kubernetes.io/instance-type"] in eks.gpu_pool.instance_types
        assert node.metadata.labels[GPU_PRESENT] == "true"
        assert node.status.allocatable[GPU_RESOURCE] == "8"
        assert [(t.key, t.effect) for t in node.spec.taints] == [(GPU_RESOURCE, "NoSchedule")]
    for node in cpu:
        assert GPU_RESOURCE not in node.status.allocatable and not node.spec.taints


def _node_pool(cluster: Cluster, name: str) -> dict[str, Any]:
    pool = next(o for o in karpenter_objects(cluster.platform) if o["kind"] == "NodePool")
    pool = copy.deepcopy(pool)
    pool["metadata"] = {"name": name}
    return pool


def _create(custom: Any, body: dict[str, Any], dry_run: str | None = "All") -> Any:
    kwargs = {"dry_run": dry_run} if dry_run else {}
    return custom.create_cluster_custom_object("karpenter.sh", "v1", "nodepools", body, **kwargs)


def test_the_program_s_node_pool_passes_the_crd_s_cel_rules(cluster: Cluster, custom: Any) -> None:
    created = _create(custom, _node_pool(cluster, "cel-valid"))
    assert created["metadata"]["name"] == "cel-valid"


def test_a_node_pool_on_a_restricted_label_is_refused_by_cel(cluster: Cluster, custom: Any) -> None:
    """An offline JSON-schema check passes this pool: only the API server evaluates the CEL rule."""
    from kubernetes.client.exceptions import ApiException

    pool = _node_pool(cluster, "cel-invalid")
    reqs = pool["spec"]["template"]["spec"]["requirements"]
    reqs.append({"key": NODEPOOL_LABEL, "operator": "In", "values": ["gpu"]})
    with pytest.raises(ApiException) as refused:
        _create(custom, pool)
    status = json.loads(refused.value.body)
    print(status["message"])  # the API server's own words, shown with -s
    assert refused.value.status == 422 and status["reason"] == "Invalid"
    assert 'label "karpenter.sh/nodepool" is restricted' in status["message"]
    assert status["details"]["causes"][0]["field"] == "spec.template.spec.requirements[5].key"


def test_a_budget_schedule_without_duration_is_refused_by_cel(cluster: Cluster, custom: Any) -> None:
    from kubernetes.client.exceptions import ApiException

    pool = _node_pool(cluster, "cel-budget")
    pool["spec"]["disruption"]["budgets"] = [{"nodes": "1", "schedule": "0 9 * * mon-fri"}]
    with pytest.raises(ApiException) as refused:
        _create(custom, pool)
    assert refused.value.status == 422 and "'schedule' must be set with 'duration'" in refused.value.body


def test_node_class_ref_is_immutable_once_created(cluster: Cluster, custom: Any) -> None:
    """A transition rule (oldSelf): no schema check without the stored object can see it."""
    from kubernetes.client.exceptions import ApiException

    name = f"cel-immutable-{uuid.uuid4().hex[:6]}"
    _create(custom, _node_pool(cluster, name), dry_run=None)
    try:
        patch = {"spec": {"template": {"spec": {"nodeClassRef": {"group": "example.com"}}}}}
        with pytest.raises(ApiException) as refused:
            custom.patch_cluster_custom_object("karpenter.sh", "v1", "nodepools", name, patch)
        assert refused.value.status == 422 and "nodeClassRef.group is immutable" in refused.value.body
    finally:
        custom.delete_cluster_custom_object("karpenter.sh", "v1", "nodepools", name)


def _gpu_pod(name: str, tolerate: bool) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "containers": [{"name": "c", "image": "example.invalid/gpu:1", "resources": {"limits": {GPU_RESOURCE: "1"}}}],
    }
    if tolerate:
        spec["tolerations"] = [{"key": GPU_RESOURCE, "operator": "Exists", "effect": "NoSchedule"}]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec}


def test_a_gpu_pod_is_scheduled_onto_a_gpu_node_and_kwok_makes_it_ready(
    cluster: Cluster, core: Any, scratch_ns: str, local: Any
) -> None:
    core.create_namespaced_pod(scratch_ns, _gpu_pod("gpu", tolerate=True))

    def ready() -> Any:
        pod = core.read_namespaced_pod("gpu", scratch_ns)
        ok = any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions or [])
        return pod if ok and pod.status.phase == "Running" else None

    pod = wait_for("the GPU pod Running and Ready", ready)
    node = core.read_node(pod.spec.node_name)
    assert node.metadata.labels[NODEPOOL_LABEL] == cluster.platform.eks.gpu_pool.name


def test_a_pod_that_does_not_tolerate_the_gpu_taint_gets_the_scheduler_s_reason(
    core: Any, scratch_ns: str, local: Any
) -> None:
    core.create_namespaced_pod(scratch_ns, _gpu_pod("no-toleration", tolerate=False))

    def failed_scheduling() -> list[Any]:
        events = core.list_namespaced_event(scratch_ns, field_selector="involvedObject.name=no-toleration").items
        return [e for e in events if e.reason == "FailedScheduling"]

    event = wait_for("a FailedScheduling event", failed_scheduling)[0]
    print(event.message)
    assert "untolerated taint" in event.message and GPU_RESOURCE in event.message, event.message
    assert core.read_namespaced_pod("no-toleration", scratch_ns).spec.node_name is None
