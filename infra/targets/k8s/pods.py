"""Pod templates from the service table: container, probes, volumes, GPU scheduling, spreading.

The container's image, command, environment and mounted files come from the same
`ContainerPlan` the Docker targets deploy; this module adds what only Kubernetes has (probes,
node affinity to a Karpenter NodePool, topology spread, preStop drain).
"""

from __future__ import annotations

import math
import posixpath
from typing import Any

from infra.render.containers import ContainerPlan, container_plan
from infra.spec.defaults import MODELS_VOLUME
from infra.spec.eks import Eks
from infra.spec.model import Platform, Role, Service
from infra.targets.k8s.objects import COMPONENT_LABEL, selector_labels

GPU_RESOURCE = "nvidia.com/gpu"
NODEPOOL_LABEL = "karpenter.sh/nodepool"
ZONE_KEY = "topology.kubernetes.io/zone"
HOST_KEY = "kubernetes.io/hostname"
PORT_NAME = "http"
MODEL_SYNC = "model-sync"


def config_map_name(svc: Service) -> str:
    return f"{svc.name}-config"


def secret_name(svc: Service) -> str:
    return f"{svc.name}-secrets"


def eks_service(platform: Platform, svc: Service) -> Service:
    """The service with the EKS inference knobs applied (seed 003's OOM advice: fewer sequences,
    smaller batches, a quantised KV cache)."""
    inf = platform.eks.inference
    if svc.llama is None or svc.role is not Role.INFERENCE:
        return svc
    update: dict[str, Any] = {}
    if inf.max_num_seqs is not None:
        update["parallel"] = inf.max_num_seqs
    if inf.max_batch_size is not None:
        update["batch_size"] = inf.max_batch_size
    if inf.kv_cache_type is not None:
        update["extra_args"] = (
            *svc.llama.extra_args,
            "--cache-type-k", inf.kv_cache_type,
            "--cache-type-v", inf.kv_cache_type,
        )  # fmt: skip
    return svc.model_copy(update={"llama": svc.llama.model_copy(update=update)}) if update else svc


def probes(svc: Service) -> dict[str, Any]:
    """startup/liveness/readiness probes: the table's health endpoint, seed 002's timings.

    The startup probe covers the table's start period (model loads take minutes) so liveness
    never kills a pod that is still loading; llama-server answers 503 on /health until loaded.
    """
    port: int | str = PORT_NAME if svc.health_port == svc.port else svc.health_port
    get = {"path": svc.health.path, "port": port}
    hc, p = svc.health, svc.probes
    period = max(1, math.ceil(hc.interval_s))
    startup_failures = max(p.startup_failures, math.ceil(hc.start_period_s / period) + hc.retries)
    return {
        "startupProbe": {
            "httpGet": get,
            "periodSeconds": period,
            "timeoutSeconds": max(1, math.ceil(hc.timeout_s)),
            "failureThreshold": startup_failures,
        },
        "livenessProbe": {
            "httpGet": get,
            "initialDelaySeconds": p.liveness_delay_s,
            "periodSeconds": p.liveness_period_s,
            "timeoutSeconds": p.liveness_timeout_s,
            "failureThreshold": p.liveness_failures,
        },
        "readinessProbe": {
            "httpGet": get,
            "initialDelaySeconds": p.readiness_delay_s,
            "periodSeconds": p.readiness_period_s,
            "timeoutSeconds": p.readiness_timeout_s,
            "failureThreshold": p.readiness_failures,
        },
    }


def resources(eks: Eks, svc: Service) -> dict[str, Any]:
    """GPU pods get the inference memory sizing (loading needs more than serving) and GPU limits."""
    requests: dict[str, Any] = {}
    limits: dict[str, Any] = {}
    if svc.gpu.count:
        inf = eks.inference
        requests.update(cpu=_cpu(inf.cpu_request), memory=f"{inf.memory_request_gib}Gi")
        limits.update(memory=f"{inf.memory_limit_gib}Gi")
        limits[GPU_RESOURCE] = svc.gpu.count
        requests[GPU_RESOURCE] = svc.gpu.count
    else:
        if svc.resources.memory_mib:
            requests["memory"] = limits["memory"] = f"{svc.resources.memory_mib}Mi"
        if svc.resources.cpus:
            requests["cpu"] = _cpu(svc.resources.cpus)
    out: dict[str, Any] = {}
    if requests:
        out["requests"] = requests
    if limits:
        out["limits"] = limits
    return out


def _cpu(cpus: float) -> str:
    return str(int(cpus)) if float(cpus).is_integer() else f"{round(cpus * 1000)}m"


def _env(plan: ContainerPlan, svc: Service) -> list[dict[str, Any]]:
    env: list[dict[str, Any]] = [{"name": k, "value": v} for k, v in plan.env.items()]
    for var, config_key in plan.secret_env.items():
        env.append({"name": var, "valueFrom": {"secretKeyRef": {"name": secret_name(svc), "key": config_key}}})
    return env


def _volumes(platform: Platform, svc: Service, plan: ContainerPlan) -> tuple[list[dict], list[dict], list[dict]]:
    """(pod volumes, container mounts, init containers). StatefulSet claims are added by the caller."""
    volumes: list[dict[str, Any]] = []
    mounts: list[dict[str, Any]] = []
    init: list[dict[str, Any]] = []
    cache = platform.eks.model_cache
    for vol in plan.volumes:
        if vol.host_path:
            raise ValueError(f"{svc.name}: host path {vol.source} cannot be mounted on EKS; disable the service")
        mounts.append({"name": vol.source, "mountPath": vol.target, "readOnly": vol.read_only})
        if svc.role is Role.VECTOR_DB:
            continue  # a volumeClaimTemplate of the StatefulSet
        if vol.source != MODELS_VOLUME.source:
            volumes.append({"name": vol.source, "emptyDir": {}})
        elif cache.source == "pvc":
            volumes.append(
                {
                    "name": vol.source,
                    "persistentVolumeClaim": {"claimName": cache.claim_name, "readOnly": vol.read_only},
                }
            )
        else:
            volumes.append({"name": vol.source, "emptyDir": {"sizeLimit": f"{cache.size_gib}Gi"}})
            init.append(
                {
                    "name": MODEL_SYNC,
                    "image": cache.sync_image,
                    "command": ["aws", "s3", "sync", cache.s3_uri, vol.target, "--no-progress"],
                    "volumeMounts": [{"name": vol.source, "mountPath": vol.target}],
                }
            )
    if plan.files:
        volumes.append({"name": "config", "configMap": {"name": config_map_name(svc)}})
        for f in plan.files:
            name = posixpath.basename(f.path)
            mounts.append({"name": "config", "mountPath": f.path, "subPath": name, "readOnly": True})
    return volumes, mounts, init


def _scheduling(platform: Platform, svc: Service) -> dict[str, Any]:
    """Node affinity to the service's NodePool; GPU taint toleration; spreading across zones."""
    eks = platform.eks
    pool = eks.gpu_pool.name if svc.gpu.count else eks.cpu_pool.name
    out: dict[str, Any] = {
        "affinity": {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {"matchExpressions": [{"key": NODEPOOL_LABEL, "operator": "In", "values": [pool]}]}
                    ]
                }
            }
        }
    }
    if svc.gpu.count:
        out["tolerations"] = [{"key": GPU_RESOURCE, "operator": "Exists", "effect": "NoSchedule"}]
    own = {"labelSelector": {"matchLabels": selector_labels(platform, svc)}}
    if svc.role is Role.INFERENCE:
        # seed 003 network section: keep inference pods apart across zones, without blocking
        # scheduling when GPU capacity exists in one zone only.
        out["affinity"]["podAntiAffinity"] = {
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {
                    "weight": 100,
                    "podAffinityTerm": {
                        "labelSelector": {"matchLabels": {COMPONENT_LABEL: Role.INFERENCE.value}},
                        "topologyKey": ZONE_KEY,
                    },
                }
            ]
        }
        spread = "ScheduleAnyway"
        if eks.inference.zone_spread == "required":
            # one pod of this service per zone: a zone outage takes one replica, never all
            out["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"] = [
                {**own, "topologyKey": ZONE_KEY}
            ]
            spread = "DoNotSchedule"
        out["topologySpreadConstraints"] = [{"maxSkew": 1, "topologyKey": ZONE_KEY, "whenUnsatisfiable": spread, **own}]
    elif svc.role is Role.GATEWAY:
        out["topologySpreadConstraints"] = [
            {"maxSkew": 1, "topologyKey": ZONE_KEY, "whenUnsatisfiable": "DoNotSchedule", **own},
            {"maxSkew": 1, "topologyKey": HOST_KEY, "whenUnsatisfiable": "ScheduleAnyway", **own},
        ]
    return out


def eks_plan(platform: Platform, svc: Service) -> ContainerPlan:
    """The container plan of `svc` with the EKS knobs applied (what the Docker targets run, tuned)."""
    return container_plan(platform, eks_service(platform, svc))


def pod_template(platform: Platform, svc: Service, plan: ContainerPlan, labels: dict[str, str]) -> dict[str, Any]:
    """The pod template of one service's workload, from its container plan (`eks_plan`)."""
    svc = eks_service(platform, svc)
    volumes, mounts, init = _volumes(platform, svc, plan)
    container: dict[str, Any] = {
        "name": svc.name,
        "image": plan.image,
        "ports": [{"name": PORT_NAME, "containerPort": svc.port, "protocol": "TCP"}],
        **probes(svc),
    }
    if plan.entrypoint is not None:
        container["command"] = list(plan.entrypoint)
    if plan.command:
        container["args"] = list(plan.command)
    env = _env(plan, svc)
    if env:
        container["env"] = env
    res = resources(platform.eks, svc)
    if res:
        container["resources"] = res
    if mounts:
        container["volumeMounts"] = mounts
    spec: dict[str, Any] = {"containers": [container], **_scheduling(platform, svc)}
    if svc.llama is not None:
        inf = platform.eks.inference
        # llama-server has no graceful drain: keep serving while the endpoint is removed.
        if inf.pre_stop_drain_s:
            container["lifecycle"] = {"preStop": {"sleep": {"seconds": inf.pre_stop_drain_s}}}
        spec["terminationGracePeriodSeconds"] = inf.termination_grace_s
    if init:
        spec["initContainers"] = init
        if platform.eks.model_cache.service_account:
            spec["serviceAccountName"] = platform.eks.model_cache.service_account
    if volumes:
        spec["volumes"] = volumes
    return {"metadata": {"labels": labels}, "spec": spec}
