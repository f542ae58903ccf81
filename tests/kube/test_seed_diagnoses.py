"""Seed 003's Karpenter incidents on the tier's control plane: the pods are the EKS program's own
template, and the FailedScheduling events are the real kube-scheduler's (on the API double the
scenarios write them with the scheduler's message text: tests/unit/eks). Karpenter itself does
not run here, so its own events are written as it writes them, through the real API server.

What stays on the double (tests/unit/eks): container logs and exec output (kwok runs no
container), and states only a kubelet reports (OOMKilled, CrashLoopBackOff, init containers).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.kube.conftest import Cluster
from tests.kube.deploy import poll
from tests.unit.eks.helpers import causes, config_of, diagnose, finding, pod_template, proposed
from tests.unit.eks.scenarios import Cluster as Scenario

pytestmark = pytest.mark.timeout(300)
POD = "inference-chat-kube-tier"
ZONE = "ap-northeast-2d"


@pytest.fixture
def scenario(cluster: Cluster, deployed: list[dict[str, Any]]) -> Iterator[Scenario]:
    scenario = Scenario(cluster.api())
    yield scenario
    ns = cluster.platform.eks.namespaces.inference
    scenario.core.delete_collection_namespaced_pod(ns, label_selector="inferops/test=diagnosis")
    poll("the scenario's pods gone", lambda: not scenario.core.list_namespaced_pod(
        ns, label_selector="inferops/test=diagnosis").items)  # fmt: skip


def _scheduler_said(scenario: Scenario, ns: str, what: str) -> str:
    """The scheduler's own FailedScheduling message for the scenario's pod, once it has written it."""

    def message() -> str:
        events = scenario.core.list_namespaced_event(ns, field_selector=f"involvedObject.name={POD}").items
        return next((e.message for e in events if e.reason == "FailedScheduling" and what in e.message), "")

    return poll(f"kube-scheduler's FailedScheduling ({what}) for {POD}", message, 120)


def _pending_pod(scenario: Scenario, deployed: list[dict[str, Any]], ns: str, **spec: Any) -> None:
    labels, template = pod_template(deployed, "inference-chat")
    scenario.pod(POD, {**copy.deepcopy(template), **spec}, {**labels, "inferops/test": "diagnosis"}, ns=ns)


def test_a_gpu_pod_without_the_toleration_is_named_from_the_schedulers_own_event(
    cluster: Cluster, scenario: Scenario, deployed: list[dict[str, Any]], stacks: Path
) -> None:
    ns = cluster.platform.eks.namespaces.inference
    _pending_pod(scenario, deployed, ns, tolerations=[])
    said = _scheduler_said(scenario, ns, "untolerated taint")
    before = stacks.read_text()
    record = diagnose("karpenter", yes=True)
    assert record.exit_code == 0, record.error
    assert causes(record) == ["missing-toleration"], record.measurements["diagnosis"]
    assert any(said in line for line in finding(record, "missing-toleration")["evidence"])
    assert proposed(record) == {} and stacks.read_text() == before


def test_a_zone_the_pool_does_not_cover_adds_it_to_eks_zones(
    cluster: Cluster, scenario: Scenario, deployed: list[dict[str, Any]], stacks: Path
) -> None:
    ns = cluster.platform.eks.namespaces.inference
    _, template = pod_template(deployed, "inference-chat")
    affinity = copy.deepcopy(template["affinity"])
    terms = affinity["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    terms[0]["matchExpressions"].append({"key": "topology.kubernetes.io/zone", "operator": "In", "values": [ZONE]})
    _pending_pod(scenario, deployed, ns, affinity=affinity)
    _scheduler_said(scenario, ns, "didn't match Pod's node affinity/selector")
    zones = cluster.platform.eks.zone_list
    karpenter = (
        'Failed to schedule pod, incompatible with nodepool "gpu", incompatible requirements, key '
        f"topology.kubernetes.io/zone, topology.kubernetes.io/zone In [{ZONE}] not in topology.kubernetes.io/zone "
        f"In [{' '.join(zones)}]"
    )
    scenario.event(POD, "FailedScheduling", karpenter, "karpenter", api="v1", ns=ns)
    record = diagnose("karpenter", yes=True)
    assert causes(record) == ["zone-not-covered"], record.measurements["diagnosis"]
    assert proposed(record) == {"eks.zones": [*zones, ZONE]}
    assert config_of(stacks)["eks.zones"] == [*zones, ZONE]
