"""What an EKS cluster has before the stack is deployed, recreated on the local control plane.

- Nodes shaped like the stack's Karpenter NodePools, managed by kwok (no kubelet): one per zone
  per pool, with the labels Karpenter and GPU feature discovery put on real nodes, the pool's
  taints and `nvidia.com/gpu` capacity. They stand for nodes Karpenter has already launched:
  nothing here launches nodes for pending pods (there is no Karpenter controller).
- The Karpenter and prometheus-operator CRDs (../shared/schemas/crds), so the API server
  evaluates their schemas and CEL rules.
- The storage classes the stack's claims name, with statically provisioned volumes (EFS and EBS
  CSI drivers are not here), so the claims bind and the pods schedule.
- The monitoring namespace, where the cluster's Prometheus operator would live.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from infra.errors import Failed, Missing
from infra.spec.eks import Eks, instance_family
from infra.spec.model import Platform
from infra.spec.stackconfig import ROOT
from infra.targets.k8s.karpenter import POOL_LABEL
from infra.targets.k8s.pods import GPU_RESOURCE

__all__ = ["CRD_DIR", "NodeShape", "cluster_objects", "install_crds", "node_objects", "recycle_volumes", "seed"]

CRD_DIR = ROOT.parent / "shared" / "schemas" / "crds"
KWOK_ANNOTATION = {"kwok.x-k8s.io/node": "fake"}
NODEPOOL_LABEL = "karpenter.sh/nodepool"
GPU_PRESENT = "nvidia.com/gpu.present"  # GPU feature discovery's label (runbooks/daily/kube.py lists by it)
CPU_SIZE = "4xlarge"  # the size of each CPU-pool node (Karpenter would pick; one is enough here)
NO_PROVISIONER = "kubernetes.io/no-provisioner"
PVS_PER_CLASS = 4


@dataclass(frozen=True)
class NodeShape:
    """Capacity of an EC2 instance type, as its kubelet reports it (vCPU, GiB, GPUs)."""

    cpu: int
    memory_gib: int
    gpus: int = 0


# The published sizes of the types the stack's pools may use (aws ec2 describe-instance-types).
SHAPES: dict[str, NodeShape] = {
    "p4d.24xlarge": NodeShape(96, 1152, 8),
    "p4de.24xlarge": NodeShape(96, 1152, 8),
    "p5.48xlarge": NodeShape(192, 2048, 8),
    "p5e.48xlarge": NodeShape(192, 2048, 8),
    "g5.12xlarge": NodeShape(48, 192, 4),
    "g6.12xlarge": NodeShape(48, 192, 4),
}
_CPU_FAMILY_GIB_PER_VCPU = {"m": 4, "c": 2, "r": 8}


def shape(instance_type: str) -> NodeShape:
    """SHAPES, else a CPU type's size from its family letter (m 4, c 2, r 8 GiB per vCPU)."""
    if instance_type in SHAPES:
        return SHAPES[instance_type]
    family, size = instance_type.split(".", 1)
    vcpu = 16 if size == "4xlarge" else 8
    return NodeShape(vcpu, vcpu * _CPU_FAMILY_GIB_PER_VCPU.get(family[0], 4))


def _node(eks: Eks, pool: str, instance_type: str, zone: str, gpu: bool) -> dict[str, Any]:
    name = f"{pool}-{zone}"
    size = shape(instance_type)
    labels = {
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "node.kubernetes.io/instance-type": instance_type,
        "topology.kubernetes.io/region": eks.region,
        "topology.kubernetes.io/zone": zone,
        NODEPOOL_LABEL: pool,
        POOL_LABEL: pool,
        "karpenter.sh/capacity-type": "on-demand",
        "karpenter.k8s.aws/instance-family": instance_family(instance_type),
        "type": "kwok",
    }
    capacity = {"cpu": str(size.cpu), "memory": f"{size.memory_gib}Gi", "pods": "110", "ephemeral-storage": "500Gi"}
    spec: dict[str, Any] = {}
    if gpu:
        labels[GPU_PRESENT] = "true"
        capacity[GPU_RESOURCE] = str(size.gpus)
        spec["taints"] = [{"key": GPU_RESOURCE, "value": "true", "effect": "NoSchedule"}]
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": labels, "annotations": dict(KWOK_ANNOTATION)},
        "spec": spec,
        "status": {"capacity": capacity, "allocatable": dict(capacity)},
    }


def node_objects(platform: Platform) -> list[dict[str, Any]]:
    """One kwok node per zone for the GPU pool (its first type) and for the CPU pool."""
    eks = platform.eks
    gpu, cpu = eks.gpu_pool, eks.cpu_pool
    gpu_type = gpu.instance_types[0] if gpu.instance_types else f"{gpu.instance_families[0]}.24xlarge"
    cpu_type = f"{cpu.instance_families[0]}.{CPU_SIZE}"
    out = [_node(eks, gpu.name, gpu_type, z, gpu=True) for z in eks.zone_list]
    return out + [_node(eks, cpu.name, cpu_type, z, gpu=False) for z in eks.zone_list]


def _storage(class_name: str, size_gib: int, mode: str) -> Iterator[dict[str, Any]]:
    yield {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": class_name},
        "provisioner": NO_PROVISIONER,
        "volumeBindingMode": "Immediate",
        "reclaimPolicy": "Retain",
    }
    for i in range(PVS_PER_CLASS):
        yield {
            "apiVersion": "v1",
            "kind": "PersistentVolume",
            "metadata": {"name": f"{class_name}-{i}"},
            "spec": {
                "capacity": {"storage": f"{size_gib}Gi"},
                "accessModes": [mode],
                "storageClassName": class_name,
                "persistentVolumeReclaimPolicy": "Retain",
                "hostPath": {"path": f"/var/lib/kwok-volumes/{class_name}-{i}"},
            },
        }


def cluster_objects(platform: Platform) -> list[dict[str, Any]]:
    """Namespace, storage classes with volumes, and nodes: what `seed` creates besides the CRDs."""
    eks = platform.eks
    out: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": eks.namespaces.monitoring}}
    ]
    out += _storage(eks.model_cache.storage_class, eks.model_cache.size_gib, eks.model_cache.access_mode)
    if eks.qdrant_storage_class != eks.model_cache.storage_class:
        out += _storage(eks.qdrant_storage_class, eks.qdrant_storage_gib, "ReadWriteOnce")
    return out + node_objects(platform)


class _CrdLoader(yaml.SafeLoader):
    """SafeLoader reading `=` as the string it is: YAML 1.1's `value` tag (`- =` in the
    prometheus-operator CRDs' enums) has no constructor in PyYAML's SafeLoader."""


def _value_as_str(loader: _CrdLoader, node: yaml.Node) -> str:
    return loader.construct_yaml_str(node)


_CrdLoader.add_constructor("tag:yaml.org,2002:value", _value_as_str)


def install_crds(api: Any, crd_dir: Path = CRD_DIR, timeout_s: float = 60) -> list[str]:
    """Create every CRD of crd_dir and wait until each is Established (its API is served)."""
    from kubernetes import client, utils

    files = sorted(crd_dir.glob("*.yaml"))
    if not files:
        raise Missing(f"no CRDs in {crd_dir} (the Karpenter and prometheus-operator CRDs)")
    names = []
    for path in files:
        for doc in yaml.load_all(path.read_text(), Loader=_CrdLoader):
            if doc:
                utils.create_from_dict(api, doc)
                names.append(doc["metadata"]["name"])
    ext = client.ApiextensionsV1Api(api)
    deadline = time.monotonic() + timeout_s
    for name in names:
        while not _established(ext.read_custom_resource_definition(name)):
            if time.monotonic() > deadline:
                raise Failed(f"CRD {name} not Established after {timeout_s:g} s")
            time.sleep(0.2)
    return names


def _established(crd: Any) -> bool:
    return any(c.type == "Established" and c.status == "True" for c in (crd.status.conditions or []))


def seed(api: Any, platform: Platform, crd_dir: Path = CRD_DIR) -> list[str]:
    """Install the CRDs, then the cluster objects; returns `Kind/name` of what it created."""
    from kubernetes import utils

    made = [f"CustomResourceDefinition/{n}" for n in install_crds(api, crd_dir)]
    for obj in cluster_objects(platform):
        utils.create_from_dict(api, obj)
        made.append(f"{obj['kind']}/{obj['metadata']['name']}")
    return made


def recycle_volumes(api: Any) -> list[str]:
    """Make Released volumes Available again (drop their claimRef), as an admin would by hand.

    The volumes are static and `Retain` (no CSI driver deletes anything here): once a namespace
    with claims is deleted, its volumes stay Released and never bind again without this.
    """
    from kubernetes import client

    core = client.CoreV1Api(api)
    freed: list[str] = []
    for pv in core.list_persistent_volume().items:
        name = pv.metadata.name if pv.metadata else None
        released = pv.status is not None and pv.status.phase == "Released"
        if name and released and pv.spec is not None and pv.spec.storage_class_name:
            core.patch_persistent_volume(name, {"spec": {"claimRef": None}})
            freed.append(name)
    return freed
