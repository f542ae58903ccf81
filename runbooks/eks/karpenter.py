"""`runbook.karpenter-diagnose`: pods Pending, NodeClaims stuck (seed 003 "Karpenter 노드 프로비저닝 실패").

Reads pending pods and the scheduler's / Karpenter's events about them, NodePools (limits,
provisioned resources, requirements, taints), NodeClaims and their conditions, nodes, and the
Karpenter controller's logs where reachable; classify/karpenter.py names the cause; the fix is a
diff of the NodePool's stack config (`inferops:eks.gpu_pool.*`, `eks.zones`).
"""

from __future__ import annotations

from typing import Any

from infra.spec.model import Platform
from runbooks.eks.evidence import Evidence
from runbooks.eks.runbook import SEED, build_diagnosis
from runbooks.framework import Options

__all__ = ["build"]


def read(reader: Any, platform: Platform, options: Options) -> Evidence:
    from runbooks.eks.reader import CLUSTER_EVENTS_NS

    reader.pods()
    reader.events(kinds=("Pod",))
    reader.events(CLUSTER_EVENTS_NS, kinds=("NodeClaim", "NodePool", "Node"))
    reader.nodepools()
    reader.nodeclaims()
    reader.nodes()
    reader.controller_logs()
    return reader.evidence


def classify(evidence: Evidence, platform: Platform, options: Options) -> Any:
    from runbooks.eks.classify.karpenter import classify as run

    return run(evidence, platform)


build = build_diagnosis(
    "karpenter-diagnose",
    "why pods stay Pending: scheduler and Karpenter events, NodeClaims, NodePool limits and requirements",
    f"{SEED}: Karpenter 노드 프로비저닝 실패 (kubectl get nodeclaims -A; kubectl logs -n karpenter ...)",
    read,
    classify,
)
