"""Namespaces, workloads, Services, config and disruption budgets for the EKS stack.

Monitoring services of the table (Prometheus, Alertmanager, Grafana, exporters) are not deployed
here: on EKS the cluster's Prometheus operator, Grafana and the NVIDIA GPU operator run them, and
this stack hands them ServiceMonitors, rules, routes and dashboards (see `monitoring.py`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from infra.render.containers import ContainerPlan
from infra.spec.defaults import MODELS_VOLUME
from infra.spec.model import Platform, Role, Service
from infra.targets.k8s.objects import Manifest, common_labels, manifest, selector_labels, service_labels
from infra.targets.k8s.pods import PORT_NAME, config_map_name, eks_plan, pod_template, secret_name

# Roles the cluster's own monitoring stack covers instead of this program.
OPERATOR_ROLES = frozenset({Role.MONITORING, Role.TEST_SUPPORT})
# Zero-downtime rollouts: a new pod must be ready before an old one is taken away.
ROLLING_UPDATE = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
CONFIG_HASH = "inferops/config-hash"


def eks_services(platform: Platform) -> list[Service]:
    """Enabled services this program deploys, dependencies first."""
    order = [name for wave in platform.start_order() for name in wave]
    return [platform.services[n] for n in order if platform.services[n].role not in OPERATOR_ROLES]


def namespaces(platform: Platform) -> list[Manifest]:
    ns = platform.eks.namespaces
    return [manifest("v1", "Namespace", name, labels=common_labels(platform)) for name in (ns.inference, ns.monitoring)]


def model_cache_claim(platform: Platform) -> list[Manifest]:
    """The shared model cache PVC, when the cache is a PVC and some service mounts the models."""
    cache = platform.eks.model_cache
    users = [s for s in eks_services(platform) if any(v.source == MODELS_VOLUME.source for v in s.volumes)]
    if cache.source != "pvc" or not users:
        return []
    spec = {
        "accessModes": [cache.access_mode],
        "storageClassName": cache.storage_class,
        "resources": {"requests": {"storage": f"{cache.size_gib}Gi"}},
    }
    return [
        manifest(
            "v1",
            "PersistentVolumeClaim",
            cache.claim_name,
            platform.eks.namespaces.inference,
            common_labels(platform),
            spec=spec,
        )
    ]


def plans(platform: Platform) -> dict[str, ContainerPlan]:
    """Container plans of the deployed services, built once per run (rendering them is not free)."""
    return {svc.name: eks_plan(platform, svc) for svc in eks_services(platform)}


def service_objects(
    platform: Platform, svc: Service, plan: ContainerPlan, secrets: Mapping[str, Any]
) -> list[Manifest]:
    """ConfigMap, Secret, workload, Service(s) and PDB of one service, in apply order."""
    ns = platform.eks.namespaces.inference
    labels = service_labels(platform, svc)
    out: list[Manifest] = []
    pod_annotations: dict[str, str] = {}
    if plan.files:
        if any(f.is_secret for f in plan.files):
            raise ValueError(f"{svc.name}: secret config files are not supported on EKS yet")
        data = {f.path.rsplit("/", 1)[-1]: f.content() for f in plan.files}
        out.append(manifest("v1", "ConfigMap", config_map_name(svc), ns, labels, data=data))
        # LiteLLM has no hot reload: a config change must roll the pods.
        digest = hashlib.sha256("".join(data[k] for k in sorted(data)).encode()).hexdigest()[:16]
        pod_annotations[CONFIG_HASH] = digest
    if plan.secret_env:
        string_data = {key: secrets[key] for key in plan.secret_env.values()}
        out.append(manifest("v1", "Secret", secret_name(svc), ns, labels, type="Opaque", stringData=string_data))
    template = pod_template(platform, svc, plan, labels)
    if pod_annotations:
        template["metadata"]["annotations"] = pod_annotations
    selector = {"matchLabels": selector_labels(platform, svc)}
    if svc.role is Role.VECTOR_DB:
        out.extend(_stateful(platform, svc, labels, selector, template))
    else:
        out.append(_deployment(platform, svc, labels, selector, template))
    out.append(_service(platform, svc, labels, svc.name, headless=False))
    if svc.role is Role.GATEWAY:
        out.append(
            manifest(
                "policy/v1",
                "PodDisruptionBudget",
                svc.name,
                ns,
                labels,
                spec={"maxUnavailable": 1, "selector": selector},
            )
        )
    return out


def replicas(platform: Platform, svc: Service) -> int:
    if svc.role is Role.GATEWAY:
        return max(svc.replicas, platform.eks.gateway_replicas)
    return svc.replicas


def _deployment(platform: Platform, svc: Service, labels: dict, selector: dict, template: dict) -> Manifest:
    spec = {
        "replicas": replicas(platform, svc),
        "selector": selector,
        "strategy": ROLLING_UPDATE,
        "template": template,
    }
    return manifest("apps/v1", "Deployment", svc.name, platform.eks.namespaces.inference, labels, spec=spec)


def _stateful(platform: Platform, svc: Service, labels: dict, selector: dict, template: dict) -> list[Manifest]:
    """A StatefulSet with one claim per named volume (Qdrant's storage), and its headless Service."""
    eks = platform.eks
    claims = [
        {
            "metadata": {"name": vol.source},
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                "storageClassName": eks.qdrant_storage_class,
                "resources": {"requests": {"storage": f"{eks.qdrant_storage_gib}Gi"}},
            },
        }
        for vol in svc.volumes
        if not vol.host_path
    ]
    headless = f"{svc.name}-headless"
    spec = {
        "replicas": replicas(platform, svc),
        "serviceName": headless,
        "selector": selector,
        "podManagementPolicy": "OrderedReady",
        "updateStrategy": {"type": "RollingUpdate"},
        "template": template,
        "volumeClaimTemplates": claims,
    }
    return [
        _service(platform, svc, labels, headless, headless=True),
        manifest("apps/v1", "StatefulSet", svc.name, eks.namespaces.inference, labels, spec=spec),
    ]


def _service(platform: Platform, svc: Service, labels: dict, name: str, headless: bool) -> Manifest:
    spec: dict[str, Any] = {
        "type": "ClusterIP",
        "selector": selector_labels(platform, svc),
        "ports": [{"name": PORT_NAME, "port": svc.port, "targetPort": PORT_NAME, "protocol": "TCP"}],
    }
    if headless:
        spec["clusterIP"] = "None"
        spec["publishNotReadyAddresses"] = True
    return manifest("v1", "Service", name, platform.eks.namespaces.inference, labels, spec=spec)


def workload_objects(
    platform: Platform, secrets: Mapping[str, Any], by_service: Mapping[str, ContainerPlan]
) -> list[Manifest]:
    """Every namespaced application object, in apply order."""
    out = model_cache_claim(platform)
    for svc in eks_services(platform):
        out.extend(service_objects(platform, svc, by_service[svc.name], secrets))
    return out
