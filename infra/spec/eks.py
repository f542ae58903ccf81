"""EKS target settings of a stack: cluster access, namespaces, Karpenter NodePools, rollout.

Config lives under `inferops:eks` (snake_case keys, like the other sections). Field checks run
when the section is parsed; checks that need several fields or the target (zones inside the
region, a kubeconfig context when `target: eks`) run in `eks_problems`, called by the stack
config loader's cross checks, so every error names `inferops:eks.<key>`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import yaml
from pydantic import Field, field_validator, model_validator

from infra.spec.base import Strict
from infra.spec.errors import Problem

if TYPE_CHECKING:
    from infra.spec.model import Platform

SECRET_KEYS: tuple[str, ...] = ()

# Karpenter v1's duration patterns (NodePool CRD: expireAfter, consolidateAfter, budget duration).
DURATION = r"^(([0-9]+(s|m|h))+|Never)$"
BUDGET_DURATION = r"^((([0-9]+(h|m))|([0-9]+h[0-9]+m))(0s)?)$"
BUDGET_NODES = r"^((100|[0-9]{1,2})%|[0-9]+)$"
NAME = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"

# NVIDIA GPU instance families Karpenter can launch with an NVIDIA-ready AMI (x86_64).
GPU_FAMILIES: tuple[str, ...] = ("p4d", "p4de", "p5", "p5e", "p5en", "g4dn", "g5", "g6", "g6e")
# x86_64 general purpose / compute / memory families for the CPU services (images are amd64).
CPU_FAMILIES: tuple[str, ...] = (
    "m5", "m6i", "m6a", "m7i", "m7a", "c5", "c6i", "c6a", "c7i", "c7a", "r5", "r6i", "r6a", "r7i",
)  # fmt: skip
# AMI aliases whose variants for GPU instance types ship the NVIDIA driver and container toolkit.
AMI_ALIAS = r"^(al2023|bottlerocket)@(latest|v[0-9][0-9.]*)$"
MIN_KUBERNETES = (1, 30)  # native preStop `sleep` action (PodLifecycleSleepAction, beta on in 1.30)

CapacityType = Literal["spot", "on-demand"]


def instance_family(instance_type: str) -> str:
    """`p4d.24xlarge` -> `p4d` (the part Karpenter's `instance-family` label holds)."""
    return instance_type.split(".", 1)[0]


def _check_families(values: tuple[str, ...], known: tuple[str, ...], what: str) -> tuple[str, ...]:
    unknown = [v for v in values if v not in known]
    if unknown:
        raise ValueError(f"unknown {what} {', '.join(unknown)}; known: {', '.join(known)}")
    return values


class Budget(Strict):
    """A Karpenter disruption budget: at most `nodes` disrupted at once (optionally in a window)."""

    nodes: str = Field("10%", pattern=BUDGET_NODES)
    schedule: str | None = None
    duration: str | None = Field(None, pattern=BUDGET_DURATION)
    reasons: tuple[Literal["Underutilized", "Empty", "Drifted"], ...] = ()

    @model_validator(mode="after")
    def _window_complete(self) -> Budget:
        if (self.schedule is None) != (self.duration is None):
            raise ValueError("schedule and duration go together (a cron window and its length)")
        return self


class Disruption(Strict):
    consolidation_policy: Literal["WhenEmpty", "WhenEmptyOrUnderutilized"] = "WhenEmptyOrUnderutilized"
    consolidate_after: str = Field("5m", pattern=DURATION)
    budgets: tuple[Budget, ...] = (Budget(nodes="10%"),)


class NodeClass(Strict):
    """EC2NodeClass settings shared by both pools' node classes."""

    ami_alias: str = Field("al2023@latest", pattern=AMI_ALIAS)
    root_volume_gib: int = Field(100, ge=20, le=16384)


class GpuPool(Strict):
    """The GPU NodePool (seed 003: several types, several zones, spot with on-demand fallback)."""

    name: str = Field("gpu", pattern=NAME)
    instance_types: tuple[str, ...] = ("p4d.24xlarge", "p4de.24xlarge", "p5.48xlarge")
    instance_families: tuple[str, ...] = ()
    capacity_types: tuple[CapacityType, ...] = Field(("spot", "on-demand"), min_length=1)
    gpu_limit: int = Field(16, gt=0, le=10000)
    expire_after: str = Field("720h", pattern=DURATION)
    disruption: Disruption = Disruption(consolidate_after="30m", budgets=(Budget(nodes="1"),))
    node_class: NodeClass = NodeClass(root_volume_gib=500)

    @field_validator("instance_types")
    @classmethod
    def _known_types(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        bad = [t for t in v if "." not in t or instance_family(t) not in GPU_FAMILIES]
        if bad:
            raise ValueError(f"unknown instance family of {', '.join(bad)}; GPU families: {', '.join(GPU_FAMILIES)}")
        return v

    @field_validator("instance_families")
    @classmethod
    def _known_families(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        return _check_families(v, GPU_FAMILIES, "GPU instance family")

    @model_validator(mode="after")
    def _one_selector(self) -> GpuPool:
        if self.instance_families and "instance_types" in self.model_fields_set and self.instance_types:
            raise ValueError("set instance_types or instance_families, not both (Karpenter ANDs requirements)")
        if not self.instance_families and not self.instance_types:
            raise ValueError("set instance_types or instance_families")
        return self


class CpuPool(Strict):
    """The NodePool for the gateway, rag, embedding-on-CPU and Qdrant."""

    name: str = Field("cpu", pattern=NAME)
    instance_families: tuple[str, ...] = Field(("m6i", "m7i", "c6i", "c7i", "r6i"), min_length=1)
    capacity_types: tuple[CapacityType, ...] = Field(("spot", "on-demand"), min_length=1)
    cpu_limit: int = Field(256, gt=0)
    memory_limit_gib: int = Field(1024, gt=0)
    expire_after: str = Field("720h", pattern=DURATION)
    disruption: Disruption = Disruption()
    node_class: NodeClass = NodeClass()

    @field_validator("instance_families")
    @classmethod
    def _known_families(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        return _check_families(v, CPU_FAMILIES, "CPU instance family")


class Namespaces(Strict):
    inference: str = Field("inference", pattern=NAME)
    monitoring: str = Field("monitoring", pattern=NAME)


class ModelCache(Strict):
    """Where llama-server finds its GGUF files (seed 003 "모델 로딩 실패"): a PVC, or S3 synced by
    an init container into node-local storage."""

    source: Literal["pvc", "s3"] = "pvc"
    claim_name: str = Field("model-cache", pattern=NAME)
    storage_class: str = "efs-sc"
    access_mode: Literal["ReadWriteMany", "ReadOnlyMany", "ReadWriteOnce"] = "ReadWriteMany"
    size_gib: int = Field(200, ge=1)
    s3_uri: str | None = Field(None, pattern=r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?$")
    sync_image: str = "amazon/aws-cli:2.27.50"
    # A ServiceAccount allowed to read the bucket (IRSA / EKS Pod Identity); None: the node role.
    service_account: str | None = Field(None, pattern=NAME)

    @model_validator(mode="after")
    def _s3_needs_uri(self) -> ModelCache:
        if self.source == "s3" and not self.s3_uri:
            raise ValueError("source s3 needs s3_uri (s3://bucket/prefix)")
        return self


class Inference(Strict):
    """Inference pods: memory for loading, rollout and drain, seed 003's OOM knobs.

    Rollouts are RollingUpdate with maxSurge 1 / maxUnavailable 0 (a new pod must be ready before
    an old one goes); llama-server has no graceful drain, so a preStop sleep keeps the pod serving
    while the endpoints controller takes it out of the Service.
    """

    memory_request_gib: int = Field(32, ge=1)
    memory_limit_gib: int = Field(64, ge=1)
    cpu_request: float = Field(4, gt=0)
    termination_grace_s: int = Field(120, ge=1, le=3600)
    pre_stop_drain_s: int = Field(30, ge=0, le=3600)
    await_timeout_min: int = Field(30, ge=1, le=720)
    max_num_seqs: int | None = Field(None, ge=1, le=1024)  # -> llama-server --parallel
    max_batch_size: int | None = Field(None, ge=1, le=65536)  # -> -b
    kv_cache_type: Literal["f16", "q8_0", "q4_0"] | None = None  # -> --cache-type-k/-v
    # seed 003 network fix (Pod Anti-Affinity across zones): "preferred" keeps inference pods apart
    # when capacity allows; "required" never places two pods of one service in the same zone
    # (runbook.network proposes it when they pile up in one zone).
    zone_spread: Literal["preferred", "required"] = "preferred"

    @model_validator(mode="after")
    def _consistent(self) -> Inference:
        if self.memory_request_gib > self.memory_limit_gib:
            raise ValueError("memory_request_gib must not exceed memory_limit_gib")
        if self.pre_stop_drain_s >= self.termination_grace_s:
            raise ValueError("pre_stop_drain_s must be shorter than termination_grace_s")
        return self


class Eks(Strict):
    """An existing EKS cluster reached through a kubeconfig context, with Karpenter v1 and the
    Prometheus operator installed."""

    kubeconfig: str = "~/.kube/config"
    context: str = ""
    # pulumi-kubernetes' renderYamlToDirectory: write every object as YAML under this directory
    # instead of applying it; no cluster is contacted (`invoke stack.render`, the engine tests).
    render_yaml_to_directory: str = ""
    region: str = Field("us-west-2", pattern=r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-[0-9]$")
    zones: tuple[str, ...] = ()
    cluster_name: str = Field("inferops", pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$")
    discovery_tag: str = "karpenter.sh/discovery"
    node_role: str = ""
    kubernetes_version: str = Field("1.33", pattern=r"^1\.[0-9]+$")
    namespaces: Namespaces = Namespaces()
    gpu_pool: GpuPool = GpuPool()
    cpu_pool: CpuPool = CpuPool()
    model_cache: ModelCache = ModelCache()
    inference: Inference = Inference()
    gateway_replicas: int = Field(2, ge=2, le=100)
    qdrant_storage_class: str = "gp3"
    qdrant_storage_gib: int = Field(50, ge=1)
    monitor_labels: dict[str, str] = Field(default_factory=lambda: {"release": "kube-prometheus-stack"})
    scrape_interval: str = Field("15s", pattern=r"^[0-9]+(ms|s|m|h)$")

    @field_validator("kubernetes_version")
    @classmethod
    def _recent(cls, v: str) -> str:
        if tuple(int(p) for p in v.split(".")) < MIN_KUBERNETES:
            raise ValueError("needs Kubernetes 1.30 or newer (preStop sleep action, Karpenter v1)")
        return v

    @property
    def zone_list(self) -> tuple[str, ...]:
        """The configured zones, or the region's first three (seed 003: several AZs)."""
        return self.zones or tuple(f"{self.region}{z}" for z in "abc")

    @property
    def node_role_name(self) -> str:
        return self.node_role or f"KarpenterNodeRole-{self.cluster_name}"


def eks_problems(platform: Platform, prefix: str = "inferops:eks") -> list[Problem]:
    """Checks across fields and the target; empty when the stack does not target EKS."""
    eks = platform.eks
    problems: list[Problem] = []
    zone = re.compile(rf"^{re.escape(eks.region)}[a-z]$")
    for z in eks.zones:
        if not zone.match(z):
            problems.append(
                Problem(f"{prefix}.zones", z, f"zone outside region {eks.region}; use {eks.region}a, {eks.region}b, …")
            )
    if platform.target != "eks" or eks.render_yaml_to_directory:
        return problems
    if not eks.context:
        problems.append(
            Problem(f"{prefix}.context", eks.context, "target eks needs the kubeconfig context of the cluster")
        )
        return problems
    contexts = kubeconfig_contexts(eks.kubeconfig)
    if contexts is not None and eks.context not in contexts:
        problems.append(
            Problem(
                f"{prefix}.context",
                eks.context,
                f"no such context in {eks.kubeconfig}; it has: {', '.join(contexts) or 'none'}",
            )
        )
    return problems


def kubeconfig_contexts(path: str) -> list[str] | None:
    """Context names in the kubeconfig at `path`; None when there is no such file (offline render)."""
    file = Path(path).expanduser()
    if not file.is_file():
        return None
    doc = yaml.safe_load(file.read_text()) or {}
    return [c.get("name", "") for c in doc.get("contexts") or [] if isinstance(c, dict)]
