"""The EKS stack as a pulumi-kubernetes program: one resource per manifest, all built at call time.

`deploy_eks(platform)` is what `pulumi up -s eks-prod` runs (through `infra/program.py`) and what
`invoke stack.render` runs under an engine double; nothing is registered at import time.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import Any, TypedDict

import pulumi
import pulumi_kubernetes as k8s

from infra.render.containers import ContainerPlan
from infra.spec.eks import Eks
from infra.spec.model import Platform
from infra.spec.stackconfig import PROJECT
from infra.targets.k8s.karpenter import karpenter_objects
from infra.targets.k8s.monitoring import ObservabilityData, monitoring_objects, observability_data, receiver_secret_keys
from infra.targets.k8s.objects import Manifest, key
from infra.targets.k8s.pods import GPU_RESOURCE
from infra.targets.k8s.watch import watch_objects, watch_plan
from infra.targets.k8s.workloads import namespaces, plans, workload_objects

# Typed classes for core kinds (their await logic knows Deployments, StatefulSets, PVCs …).
CORE_KINDS: dict[tuple[str, str], Any] = {
    ("v1", "Namespace"): k8s.core.v1.Namespace,
    ("v1", "ConfigMap"): k8s.core.v1.ConfigMap,
    ("v1", "Secret"): k8s.core.v1.Secret,
    ("v1", "Service"): k8s.core.v1.Service,
    ("v1", "PersistentVolumeClaim"): k8s.core.v1.PersistentVolumeClaim,
    ("apps/v1", "Deployment"): k8s.apps.v1.Deployment,
    ("apps/v1", "StatefulSet"): k8s.apps.v1.StatefulSet,
    ("policy/v1", "PodDisruptionBudget"): k8s.policy.v1.PodDisruptionBudget,
    ("v1", "ServiceAccount"): k8s.core.v1.ServiceAccount,
    ("rbac.authorization.k8s.io/v1", "Role"): k8s.rbac.v1.Role,
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): k8s.rbac.v1.RoleBinding,
}
_FIELDS = {
    "spec": "spec",
    "data": "data",
    "stringData": "string_data",
    "type": "type",
    "rules": "rules",
    "roleRef": "role_ref",
    "subjects": "subjects",
}


def eks_manifests(
    platform: Platform,
    secrets: Mapping[str, Any],
    data: ObservabilityData,
    by_service: Mapping[str, ContainerPlan] | None = None,
) -> list[Manifest]:
    """Every object of the stack in apply order (namespaces, node capacity, apps, monitoring)."""
    return [
        *namespaces(platform),
        *karpenter_objects(platform),
        *workload_objects(platform, secrets, plans(platform) if by_service is None else by_service),
        *monitoring_objects(platform, data, secrets),
        *watch_objects(platform, secrets),
    ]


def needed_secrets(by_service: Mapping[str, ContainerPlan], data: ObservabilityData) -> list[str]:
    """Secret config keys the objects use: read only those, so unused secrets need not be set."""
    keys: list[str] = []
    for plan in by_service.values():
        keys += [k for k in plan.secret_env.values() if k not in keys]
    keys += [k for k in receiver_secret_keys(data.alertmanager) if k not in keys]
    return keys


def deploy_eks(platform: Platform, observability: ObservabilityData | None = None) -> dict[str, pulumi.Resource]:
    """Register every object of `platform` on its EKS cluster; returns resources by `Kind/ns/name`."""
    if platform.target != "eks":
        raise ValueError(f"stack {platform.stack} targets {platform.target}, not eks")
    config = pulumi.Config(PROJECT)
    data = observability or observability_data(platform)
    by_service = plans(platform)
    watch = watch_plan(platform)
    secrets = {k: config.require_secret(k) for k in needed_secrets({**by_service, **watch}, data)}
    eks = platform.eks
    provider = k8s.Provider("eks", **provider_args(eks))
    created: dict[str, pulumi.Resource] = {}
    for obj in eks_manifests(platform, secrets, data, by_service):
        deps = [created[k] for k in _dependencies(obj) if k in created]
        created[key(obj)] = _resource(platform, obj, provider, deps)
    pulumi.export("namespaces", [eks.namespaces.inference, eks.namespaces.monitoring])
    pulumi.export("objects", sorted(created))
    return created


class ProviderArgs(TypedDict, total=False):
    """The `k8s.Provider` arguments `provider_args` sets: a cluster, or a directory to render into."""

    kubeconfig: str
    context: str
    render_yaml_to_directory: str


def provider_args(eks: Eks) -> ProviderArgs:
    """The cluster from the kubeconfig context, or, in render mode, a directory and no cluster."""
    if eks.render_yaml_to_directory:
        return {"render_yaml_to_directory": os.path.abspath(os.path.expanduser(eks.render_yaml_to_directory))}
    return {"kubeconfig": os.path.expanduser(eks.kubeconfig), "context": eks.context}


def logical_name(obj: Manifest) -> str:
    """Stable Pulumi name: renaming it would delete and recreate the object (use aliases then)."""
    meta = obj["metadata"]
    parts = [obj["kind"].lower(), meta.get("namespace"), meta["name"]]
    return "-".join(p for p in parts if p)


def _resource(platform: Platform, obj: Manifest, provider: k8s.Provider, deps: list[pulumi.Resource]) -> Any:
    opts = pulumi.ResourceOptions(provider=provider, depends_on=deps)
    if obj["kind"] == "Namespace" and obj["metadata"]["name"] == platform.eks.namespaces.monitoring:
        # The monitoring namespace usually hosts the Prometheus operator: never delete it.
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(retain_on_delete=True))
    if _uses_gpu(obj):
        # Karpenter has to launch a GPU node and the model has to load: await longer than 10 min.
        wait = f"{platform.eks.inference.await_timeout_min}m"
        opts = pulumi.ResourceOptions.merge(
            opts, pulumi.ResourceOptions(custom_timeouts=pulumi.CustomTimeouts(wait, wait))
        )
    name = logical_name(obj)
    cls = CORE_KINDS.get((obj["apiVersion"], obj["kind"]))
    if cls is None:
        return k8s.apiextensions.CustomResource(
            name, api_version=obj["apiVersion"], kind=obj["kind"], metadata=obj["metadata"], spec=obj["spec"], opts=opts
        )
    kwargs = {arg: obj[field] for field, arg in _FIELDS.items() if field in obj}
    return cls(name, metadata=obj["metadata"], **kwargs, opts=opts)


def _uses_gpu(obj: Manifest) -> bool:
    containers = obj.get("spec", {}).get("template", {}).get("spec", {}).get("containers", [])
    return any(GPU_RESOURCE in c.get("resources", {}).get("limits", {}) for c in containers)


def _dependencies(obj: Manifest) -> list[str]:
    """Keys of the objects `obj` needs first: its namespace, its node class, what its pods mount."""
    meta = obj["metadata"]
    ns = meta.get("namespace")
    out = [f"Namespace/{ns}"] if ns else []
    if obj["kind"] == "NodePool":
        out.append(f"EC2NodeClass/{obj['spec']['template']['spec']['nodeClassRef']['name']}")
    if ns:
        for kind, name in _references(obj.get("spec", {})):
            out.append(f"{kind}/{ns}/{name}")
    return out


def _references(node: Any) -> Iterator[tuple[str, str]]:
    """ConfigMaps, Secrets and claims a pod spec refers to (volumes, env, ServiceMonitor auth)."""
    if isinstance(node, dict):
        if isinstance(node.get("configMap"), dict):
            yield "ConfigMap", node["configMap"]["name"]
        if isinstance(node.get("secretKeyRef"), dict):
            yield "Secret", node["secretKeyRef"]["name"]
        if isinstance(node.get("persistentVolumeClaim"), dict):
            yield "PersistentVolumeClaim", node["persistentVolumeClaim"]["claimName"]
        if isinstance(node.get("credentials"), dict) and "name" in node["credentials"]:
            yield "Secret", node["credentials"]["name"]
        for value in node.values():
            yield from _references(value)
    elif isinstance(node, list):
        for item in node:
            yield from _references(item)
