"""Karpenter v1 NodePools and EC2NodeClasses (seed 003 "Karpenter 노드 프로비저닝 실패").

Spec keys are camelCase: `CustomResource` passes them through untouched.
"""

from __future__ import annotations

from typing import Any

from infra.spec.eks import CpuPool, Eks, GpuPool, NodeClass
from infra.spec.model import Platform
from infra.targets.k8s.objects import Manifest, common_labels, manifest
from infra.targets.k8s.pods import GPU_RESOURCE

NODEPOOL_API = "karpenter.sh/v1"
NODECLASS_API = "karpenter.k8s.aws/v1"
POOL_LABEL = "inferops/pool"


def _req(key: str, values: list[str] | tuple[str, ...]) -> dict[str, Any]:
    return {"key": key, "operator": "In", "values": list(values)}


def _requirements(eks: Eks, pool: GpuPool | CpuPool) -> list[dict[str, Any]]:
    reqs: list[dict[str, Any]] = []
    if isinstance(pool, GpuPool) and not pool.instance_families:
        reqs.append(_req("node.kubernetes.io/instance-type", pool.instance_types))
    else:
        reqs.append(_req("karpenter.k8s.aws/instance-family", pool.instance_families))
    reqs += [
        _req("topology.kubernetes.io/zone", eks.zone_list),
        # spot first, on-demand when spot has no capacity (Karpenter prefers the cheaper type)
        _req("karpenter.sh/capacity-type", pool.capacity_types),
        _req("kubernetes.io/arch", ["amd64"]),
        _req("kubernetes.io/os", ["linux"]),
    ]
    return reqs


def _disruption(pool: GpuPool | CpuPool) -> dict[str, Any]:
    d = pool.disruption
    budgets = []
    for b in d.budgets:
        budget: dict[str, Any] = {"nodes": b.nodes}
        if b.schedule is not None:
            budget.update(schedule=b.schedule, duration=b.duration)
        if b.reasons:
            budget["reasons"] = list(b.reasons)
        budgets.append(budget)
    return {"consolidationPolicy": d.consolidation_policy, "consolidateAfter": d.consolidate_after, "budgets": budgets}


def node_pool(platform: Platform, pool: GpuPool | CpuPool) -> Manifest:
    eks = platform.eks
    template_spec: dict[str, Any] = {
        "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": pool.name},
        "requirements": _requirements(eks, pool),
        "expireAfter": pool.expire_after,
    }
    if isinstance(pool, GpuPool):
        template_spec["taints"] = [{"key": GPU_RESOURCE, "value": "true", "effect": "NoSchedule"}]
        limits: dict[str, Any] = {GPU_RESOURCE: pool.gpu_limit}
    else:
        limits = {"cpu": pool.cpu_limit, "memory": f"{pool.memory_limit_gib}Gi"}
    spec = {
        "template": {"metadata": {"labels": {POOL_LABEL: pool.name}}, "spec": template_spec},
        "limits": limits,
        "disruption": _disruption(pool),
    }
    return manifest(NODEPOOL_API, "NodePool", pool.name, labels=common_labels(platform), spec=spec)


def _block_device(nc: NodeClass) -> dict[str, Any]:
    """AL2023 has one root volume; Bottlerocket keeps images and data on its second volume."""
    family = nc.ami_alias.split("@", 1)[0]
    device = "/dev/xvdb" if family == "bottlerocket" else "/dev/xvda"
    return {
        "deviceName": device,
        "rootVolume": family != "bottlerocket",
        "ebs": {
            "volumeSize": f"{nc.root_volume_gib}Gi",
            "volumeType": "gp3",
            "encrypted": True,
            "deleteOnTermination": True,
        },
    }


def node_class(platform: Platform, pool: GpuPool | CpuPool) -> Manifest:
    eks = platform.eks
    nc = pool.node_class
    discovery = [{"tags": {eks.discovery_tag: eks.cluster_name}}]
    spec = {
        "role": eks.node_role_name,
        "amiSelectorTerms": [{"alias": nc.ami_alias}],
        "subnetSelectorTerms": discovery,
        "securityGroupSelectorTerms": discovery,
        "blockDeviceMappings": [_block_device(nc)],
        "metadataOptions": {
            "httpEndpoint": "enabled",
            "httpProtocolIPv6": "disabled",
            "httpPutResponseHopLimit": 1,
            "httpTokens": "required",
        },
        "tags": {"inferops/stack": platform.stack, "inferops/pool": pool.name},
    }
    return manifest(NODECLASS_API, "EC2NodeClass", pool.name, labels=common_labels(platform), spec=spec)


def karpenter_objects(platform: Platform) -> list[Manifest]:
    """Node classes first: a NodePool refers to its EC2NodeClass by name."""
    pools = (platform.eks.gpu_pool, platform.eks.cpu_pool)
    return [node_class(platform, p) for p in pools] + [node_pool(platform, p) for p in pools]
