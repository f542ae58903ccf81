"""The EKS program's objects applied to the tier's cluster for the target and runbook tests.

Applied with server-side apply from the program's own manifests (the mock-engine capture, secret
values replaced by markers), not through the engine: these tests are about the target and the
runbooks, and must not need the Pulumi tools. test_eks_program.py covers the engine.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from infra.spec.model import Platform

__all__ = [
    "FIELD_MANAGER",
    "apply_stack",
    "namespace_usable",
    "poll",
    "remove_stack",
    "resource",
    "rolled_out",
    "workloads",
]

FIELD_MANAGER = "inferops-kube-tier"
ROLLOUT_S = 180.0  # every pod of the stack Running/Ready through scheduler and kwok on shared cores


def poll(what: str, check: Callable[[], Any], timeout_s: float = 60.0) -> Any:
    """`check()` until truthy; AssertionError naming `what` at the deadline (never a bare sleep)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not after {timeout_s:g} s")
        time.sleep(0.2)


def resource(api: Any, obj: dict[str, Any]) -> Any:
    from kubernetes import dynamic

    return dynamic.DynamicClient(api).resources.get(api_version=obj["apiVersion"], kind=obj["kind"])


def workloads(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] in ("Deployment", "StatefulSet")]


def rolled_out(api: Any, obj: dict[str, Any]) -> bool:
    found = resource(api, obj).get(name=obj["metadata"]["name"], namespace=obj["metadata"]["namespace"])
    want = found.spec.replicas
    status = found.status or {}
    return (status.get("readyReplicas") or 0) == want and (status.get("updatedReplicas") or 0) == want


def namespace_usable(api: Any, name: str) -> bool:
    """Absent or Active: a namespace being deleted refuses new objects until it is gone."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    try:
        return client.CoreV1Api(api).read_namespace(name).status.phase == "Active"
    except ApiException as err:
        return err.status == 404


def apply_stack(api: Any, platform: Platform) -> list[dict[str, Any]]:
    """Apply every object of the program (in its apply order) and wait for every rollout."""
    from infra.kube.seed import recycle_volumes
    from infra.targets.k8s.render import manifests

    objects = manifests(platform)
    for ns in (platform.eks.namespaces.inference, platform.eks.namespaces.monitoring):
        poll(f"namespace {ns} not terminating", lambda ns=ns: namespace_usable(api, ns), ROLLOUT_S)
    recycle_volumes(api)
    for obj in objects:
        meta = obj["metadata"]
        resource(api, obj).server_side_apply(
            body=obj,
            name=meta["name"],
            namespace=meta.get("namespace"),
            field_manager=FIELD_MANAGER,
            force_conflicts=True,
        )
    for obj in workloads(objects):
        poll(f"{obj['kind']} {obj['metadata']['name']} rolled out", lambda o=obj: rolled_out(api, o), ROLLOUT_S)
    return objects


def remove_stack(api: Any, platform: Platform) -> None:
    """Delete the inference namespace (and so everything the program put in it)."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    try:
        client.CoreV1Api(api).delete_namespace(platform.eks.namespaces.inference)
    except ApiException as err:
        if err.status != 404:
            raise
