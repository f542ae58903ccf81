"""Plain Kubernetes manifests (camelCase dicts, exactly as `kubectl` reads them) and their labels.

Every builder in this package returns these dicts; the Pulumi program turns each into one
resource, and the offline render writes what the program registered. Keeping the objects as
data makes them easy to assert on and to validate against the API schemas.
"""

from __future__ import annotations

from typing import Any

from infra.spec.model import Platform, Service

Manifest = dict[str, Any]

PART_OF = "inferops"
NAME_LABEL = "app.kubernetes.io/name"
INSTANCE_LABEL = "app.kubernetes.io/instance"
COMPONENT_LABEL = "app.kubernetes.io/component"


def manifest(
    api_version: str,
    kind: str,
    name: str,
    namespace: str | None = None,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    **body: Any,
) -> Manifest:
    """One object: apiVersion, kind, metadata and the given top-level fields (spec, data, …)."""
    metadata: dict[str, Any] = {"name": name}
    if namespace is not None:
        metadata["namespace"] = namespace
    if labels:
        metadata["labels"] = dict(labels)
    if annotations:
        metadata["annotations"] = dict(annotations)
    return {"apiVersion": api_version, "kind": kind, "metadata": metadata, **body}


def common_labels(platform: Platform) -> dict[str, str]:
    return {
        "app.kubernetes.io/part-of": PART_OF,
        "app.kubernetes.io/managed-by": "pulumi",
        "inferops/stack": platform.stack,
    }


def selector_labels(platform: Platform, svc: Service) -> dict[str, str]:
    """The labels that select one service's pods (stable across updates: selectors are immutable)."""
    return {NAME_LABEL: svc.name, INSTANCE_LABEL: platform.stack}


def service_labels(platform: Platform, svc: Service) -> dict[str, str]:
    return {**common_labels(platform), **selector_labels(platform, svc), COMPONENT_LABEL: svc.role.value}


def key(obj: Manifest) -> str:
    """`Kind/namespace/name` (or `Kind/name` for cluster objects): unique within one stack."""
    meta = obj["metadata"]
    ns = meta.get("namespace")
    return f"{obj['kind']}/{ns}/{meta['name']}" if ns else f"{obj['kind']}/{meta['name']}"
