"""The watch on EKS: the same `watch` row as a one-replica Deployment in the inference namespace.

The row is a monitoring one, which the rest of this program leaves to the cluster's operators;
the watch is the exception because it is this project's own agent. The pod runs the `--loop`
the Docker targets run and reads the same platform file (a ConfigMap) seen from the stack
network: in the inference namespace every service answers by its short name. What differs from
a Docker host: containers come through the Kubernetes API (a ServiceAccount that may read the
namespace's workloads and pods, nothing more), there is no host disk to mount, and the state
lives on a claim, one writer at a time (`Recreate`), so a rollout never runs two cycles at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from infra.render.containers import ContainerPlan, container_plan
from infra.render.watch import WATCH_SERVICE
from infra.spec.defaults import HOST_ROOT_ENV
from infra.spec.model import Platform, Service
from infra.targets.k8s.monitoring import service_monitor
from infra.targets.k8s.objects import Manifest, manifest, service_labels
from infra.targets.k8s.workloads import service_objects

__all__ = ["READS", "watch_objects", "watch_plan"]

RBAC_API = "rbac.authorization.k8s.io/v1"
# What the watch's Kubernetes target reads (runbooks/targets/k8s_target.py): workloads and pods.
READS = (
    {"apiGroups": ["apps"], "resources": ["deployments", "statefulsets"], "verbs": ["get", "list"]},
    {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]},
)
STATE_GIB = 1


def on_eks(svc: Service) -> Service:
    """The row without what only a Docker host has: the engine socket and the host's / ."""
    volumes = tuple(v for v in svc.volumes if not v.host_path)
    env = {k: v for k, v in svc.env.items() if k != HOST_ROOT_ENV}
    return svc.model_copy(update={"volumes": volumes, "env": env})


def watch_plan(platform: Platform) -> dict[str, ContainerPlan]:
    """The watch's container plan by name (its secrets are read with the others'), or nothing."""
    row = platform.services.get(WATCH_SERVICE)
    if row is None or not row.enabled:
        return {}
    return {row.name: container_plan(platform, on_eks(row))}


def watch_objects(platform: Platform, secrets: Mapping[str, Any]) -> list[Manifest]:
    """Its ServiceAccount and read-only Role, state claim, config, Deployment, Service and monitor."""
    plans = watch_plan(platform)
    if not plans:
        return []
    svc = on_eks(platform.services[WATCH_SERVICE])
    ns = platform.eks.namespaces.inference
    labels = service_labels(platform, svc)
    account = [
        manifest("v1", "ServiceAccount", svc.name, ns, labels),
        manifest(RBAC_API, "Role", svc.name, ns, labels, rules=[dict(r) for r in READS]),
        manifest(
            RBAC_API,
            "RoleBinding",
            svc.name,
            ns,
            labels,
            roleRef={"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": svc.name},
            subjects=[{"kind": "ServiceAccount", "name": svc.name, "namespace": ns}],
        ),
    ]
    claims = [_claim(platform, v.source, labels) for v in svc.volumes]
    objects = service_objects(platform, svc, plans[svc.name], secrets)
    for obj in objects:
        if obj["kind"] == "Deployment":
            _one_writer(obj, svc)
    return [*account, *claims, *objects, service_monitor(platform, svc)]


def _claim(platform: Platform, name: str, labels: dict[str, str]) -> Manifest:
    spec = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": f"{STATE_GIB}Gi"}}}
    return manifest("v1", "PersistentVolumeClaim", name, platform.eks.namespaces.inference, labels, spec=spec)


def _one_writer(deployment: Manifest, svc: Service) -> None:
    """State on a claim instead of an emptyDir; the old pod gone before the new one starts."""
    spec = deployment["spec"]
    spec["replicas"] = 1
    spec["strategy"] = {"type": "Recreate"}
    pod = spec["template"]["spec"]
    pod["serviceAccountName"] = svc.name
    for vol in pod.get("volumes", []):
        if "emptyDir" in vol:
            del vol["emptyDir"]
            vol["persistentVolumeClaim"] = {"claimName": vol["name"]}
