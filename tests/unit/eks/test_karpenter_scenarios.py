"""runbook.karpenter-diagnose on seed 003's "Karpenter 노드 프로비저닝 실패" symptoms, scenario by scenario.

Each scenario creates its cluster state through the real kubernetes client (tests/unit/eks/
scenarios.py). On the kube API double no scheduler runs, so the FailedScheduling events are
written by the scenario, with kube-scheduler's 1.33 message text; on a real control plane the
scheduler writes them. NodeClaims are created and given the status Karpenter's lifecycle
controller leaves, and the NodeClaim CRD (modelled from the Karpenter v1 API) validates them.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from kubernetes.client.exceptions import ApiException

from tests.unit.eks.helpers import causes, changed_keys, config_of, diagnose, finding, pod_template, proposed
from tests.unit.eks.scenarios import Cluster

INSUFFICIENT_GPU = (
    "0/3 nodes are available: 3 Insufficient nvidia.com/gpu. preemption: 0/3 nodes are available: "
    "3 No preemption victims found for incoming pod."
)
UNTOLERATED = (
    "0/2 nodes are available: 2 node(s) had untolerated taint {nvidia.com/gpu: true}. preemption: 0/2 nodes are "
    "available: 2 Preemption is not helpful for scheduling."
)
AFFINITY = (
    "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 nodes are "
    "available: 3 Preemption is not helpful for scheduling."
)
KARPENTER_ZONE = (
    'Failed to schedule pod, incompatible with nodepool "gpu", daemonset overhead={"cpu":"180m","memory":"120Mi",'
    '"pods":"3"}, incompatible requirements, key topology.kubernetes.io/zone, topology.kubernetes.io/zone In '
    "[ap-northeast-2d] not in topology.kubernetes.io/zone In [ap-northeast-2a ap-northeast-2b ap-northeast-2c]"
)
KARPENTER_LIMIT = 'Failed to schedule pod, all available instance types exceed limits for nodepool: "gpu"'
ICE_MESSAGE = (
    "creating instance, insufficient capacity, with fleet error(s), InsufficientInstanceCapacity: We currently do "
    "not have sufficient p4d.24xlarge capacity in the Availability Zone you requested (ap-northeast-2a)."
)


def _pending_gpu_pod(cluster: Cluster, eks_objects: list, name: str = "inference-chat-5c9d7-x7k2p", **spec) -> None:
    labels, template = pod_template(eks_objects, "inference-chat")
    cluster.pod(name, {**copy.deepcopy(template), **spec}, labels)


def _spot_only(cluster: Cluster, stack_file: Path) -> None:
    """The stack and the deployed NodePool both spot only (the pool as a spot-only stack renders it)."""
    stack_file.write_text(
        stack_file.read_text().replace(
            "capacity_types: [spot, on-demand]\n      gpu_limit", "capacity_types: [spot]\n      gpu_limit"
        )
    )
    pool = cluster.custom.get_cluster_custom_object("karpenter.sh", "v1", "nodepools", "gpu")
    reqs = pool["spec"]["template"]["spec"]["requirements"]
    for r in reqs:
        if r["key"] == "karpenter.sh/capacity-type":
            r["values"] = ["spot"]
    body = {"spec": {"template": {"spec": {"requirements": reqs}}}}
    cluster.custom.patch_cluster_custom_object("karpenter.sh", "v1", "nodepools", "gpu", body)


def test_spot_capacity_gone_proposes_the_on_demand_fallback_and_yes_writes_only_that(
    cluster: Cluster, eks_objects: list, stack_file: Path
) -> None:
    _spot_only(cluster, stack_file)
    _pending_gpu_pod(cluster, eks_objects)
    cluster.scheduler_event("inference-chat-5c9d7-x7k2p", INSUFFICIENT_GPU)
    cluster.event(
        "inference-chat-5c9d7-x7k2p",
        "Nominated",
        "Pod should schedule on: nodeclaim/gpu-x2k9c",
        "karpenter",
        type_="Normal",
    )
    cluster.nodeclaim(
        "gpu-x2k9c",
        "gpu",
        {
            "Launched": ("False", "LaunchFailed", ICE_MESSAGE),
            "Registered": ("Unknown", "AwaitingReconciliation", "object is awaiting reconciliation"),
        },
    )
    cluster.event(
        "gpu-x2k9c",
        "InsufficientCapacityError",
        f"NodeClaim gpu-x2k9c event: {ICE_MESSAGE}",
        "karpenter",
        action="Launching",
        kind="NodeClaim",
        ns="default",
    )

    read_only = diagnose("karpenter")
    assert read_only.exit_code == 0 and causes(read_only) == ["insufficient-capacity"]
    assert proposed(read_only) == {"eks.gpu_pool.capacity_types": ["spot", "on-demand"]}
    assert any(
        "InsufficientInstanceCapacity" in line for line in finding(read_only, "insufficient-capacity")["evidence"]
    )
    assert [s.name for s in read_only.steps] == ["read", "report"] and not read_only.config_changes

    before = config_of(stack_file)
    applied = diagnose("karpenter", yes=True)
    assert applied.exit_code == 0, applied.error
    after = config_of(stack_file)
    assert changed_keys(before, after) == {"eks.gpu_pool.capacity_types"}
    assert after["eks.gpu_pool.capacity_types"] == ["spot", "on-demand"]
    assert [c["key"] for c in applied.config_changes[0]["changes"]] == ["eks.gpu_pool.capacity_types"]


def test_a_pod_without_the_gpu_toleration_is_named_and_no_nodepool_change_is_proposed(
    cluster: Cluster, eks_objects: list, stack_file: Path
) -> None:
    _pending_gpu_pod(cluster, eks_objects, tolerations=[])
    cluster.scheduler_event("inference-chat-5c9d7-x7k2p", UNTOLERATED)
    before = stack_file.read_text()
    record = diagnose("karpenter", yes=True)
    assert record.exit_code == 0 and causes(record) == ["missing-toleration"]
    assert finding(record, "missing-toleration")["evidence"] == [
        f"Warning FailedScheduling (default-scheduler, x1): {UNTOLERATED}"
    ]
    assert proposed(record) == {} and stack_file.read_text() == before and not record.config_changes


def test_a_zone_the_pool_does_not_cover_adds_the_zone_to_eks_zones(
    cluster: Cluster, eks_objects: list, stack_file: Path
) -> None:
    labels, template = pod_template(eks_objects, "inference-chat")
    spec = copy.deepcopy(template)
    terms = spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    terms[0]["matchExpressions"].append(
        {"key": "topology.kubernetes.io/zone", "operator": "In", "values": ["ap-northeast-2d"]}
    )
    cluster.pod("inference-chat-5c9d7-zz9q1", spec, labels)
    cluster.scheduler_event("inference-chat-5c9d7-zz9q1", AFFINITY)
    cluster.event("inference-chat-5c9d7-zz9q1", "FailedScheduling", KARPENTER_ZONE, "karpenter", api="v1")
    before = config_of(stack_file)
    record = diagnose("karpenter", yes=True)
    assert causes(record) == ["zone-not-covered"]
    zones = ["ap-northeast-2a", "ap-northeast-2b", "ap-northeast-2c", "ap-northeast-2d"]
    assert proposed(record) == {"eks.zones": zones}
    assert any("ap-northeast-2d] not in" in line for line in finding(record, "zone-not-covered")["evidence"])
    assert changed_keys(before, config_of(stack_file)) == {"eks.zones"} and config_of(stack_file)["eks.zones"] == zones


def test_the_pool_limit_reached_raises_gpu_limit(cluster: Cluster, eks_objects: list, stack_file: Path) -> None:
    cluster.nodepool_status("gpu", {"nvidia.com/gpu": "32", "cpu": "384", "nodes": "4"})
    _pending_gpu_pod(cluster, eks_objects)
    cluster.scheduler_event("inference-chat-5c9d7-x7k2p", INSUFFICIENT_GPU)
    cluster.event("inference-chat-5c9d7-x7k2p", "FailedScheduling", KARPENTER_LIMIT, "karpenter")
    record = diagnose("karpenter")
    assert causes(record) == ["nodepool-limit-reached"]
    assert proposed(record) == {"eks.gpu_pool.gpu_limit": 40}  # 32 used + 1 wanted, in whole 8-GPU nodes
    assert KARPENTER_LIMIT in finding(record, "nodepool-limit-reached")["evidence"][0]


def test_a_nodeclaim_launched_but_never_registered_is_stuck_with_its_conditions(
    cluster: Cluster, eks_objects: list, stack_file: Path
) -> None:
    _pending_gpu_pod(cluster, eks_objects)
    cluster.scheduler_event("inference-chat-5c9d7-x7k2p", INSUFFICIENT_GPU)
    cluster.nodeclaim(
        "gpu-r4nd0",
        "gpu",
        {
            "Launched": ("True", "Launched", ""),
            "Registered": ("Unknown", "AwaitingReconciliation", "object is awaiting reconciliation"),
        },
    )
    cluster.karpenter_controller(
        ['{"level":"ERROR","message":"registration timed out","NodeClaim":{"name":"gpu-r4nd0"}}']
    )
    record = diagnose("karpenter")
    assert causes(record) == ["nodeclaim-stuck"] and proposed(record) == {}
    assert finding(record, "nodeclaim-stuck")["evidence"] == [
        "nodeclaim gpu-r4nd0: Launched=True Launched, Registered=Unknown AwaitingReconciliation"
    ]
    looked = record.measurements["diagnosis"]["looked_at"]
    assert "logs karpenter-6b7f9d-abcde/controller: 1 lines" in looked and "nodeclaims.karpenter.sh/v1: 1" in looked


def test_nothing_pending_finds_nothing(cluster: Cluster, stack_file: Path) -> None:
    record = diagnose("karpenter")
    assert record.exit_code == 0 and causes(record) == []
    assert "pods in inference: " in " ".join(record.measurements["diagnosis"]["looked_at"])


def test_the_nodeclaim_crd_refuses_what_karpenter_never_writes(cluster: Cluster) -> None:
    """The scenarios' NodeClaims pass the CRD because they are shaped as Karpenter's: a condition
    without a reason, or an unknown spec field, is refused (422) as the API server would."""
    cluster.nodeclaim("gpu-ok", "gpu", {"Launched": ("Unknown", "AwaitingReconciliation", "")})
    bad = {
        "status": {
            "conditions": [
                {"type": "Launched", "status": "False", "message": "", "lastTransitionTime": "2026-01-01T00:00:00Z"}
            ]
        }
    }
    with pytest.raises(ApiException) as err:
        cluster.custom.patch_cluster_custom_object_status("karpenter.sh", "v1", "nodeclaims", "gpu-ok", bad)
    assert err.value.status == 422 and "reason" in err.value.body
    with pytest.raises(ApiException) as err:
        cluster.custom.create_cluster_custom_object(
            "karpenter.sh",
            "v1",
            "nodeclaims",
            {
                "apiVersion": "karpenter.sh/v1",
                "kind": "NodeClaim",
                "metadata": {"name": "gpu-bad"},
                "spec": {
                    "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": "gpu"},
                    "requirements": [],
                    "instanceType": "p4d.24xlarge",
                },
            },
        )
    assert err.value.status == 422
    cluster.double.guard.take()  # the refusals were provoked on purpose
