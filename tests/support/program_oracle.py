"""What the EKS program registers, and what the real engine says it does with it: shared by the
engine tier (tests/engine) and the kube tier (tests/kube), which compare the two."""

from __future__ import annotations

from typing import Any

from infra.spec import Platform

__all__ = ["objects_by_name", "resource_ops"]


def objects_by_name(platform: Platform) -> dict[str, dict[str, Any]]:
    """What the program registers (the mock-engine capture), by Pulumi logical name: the oracle."""
    from infra.targets.k8s.program import logical_name
    from infra.targets.k8s.render import manifests

    return {logical_name(obj): obj for obj in manifests(platform)}


def resource_ops(events: list[Any]) -> dict[str, str]:
    """Logical name -> engine operation, for Kubernetes objects in a preview's event stream."""
    ops: dict[str, str] = {}
    for event in events:
        pre = event.resource_pre_event
        if pre is None or not pre.metadata.type.startswith("kubernetes:") or "providers" in pre.metadata.type:
            continue
        ops[pre.metadata.urn.rsplit("::", 1)[1]] = str(pre.metadata.op.value)
    return ops
