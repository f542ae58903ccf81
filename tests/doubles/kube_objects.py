"""The kube API test double's plain object store: the kinds seed 003's troubleshooting reads.

Beyond the workloads and their pods (kube_double.py), the double stores, through the same
HTTP API the real server has (create, list with label and field selectors, get, status patch):

- v1 Events and events.k8s.io/v1 Events: ONE store, two views, as in the API server (both APIs
  serve the same resource). An event created through either API is listed by both with the
  fields mapped the way k8s.io/kubernetes pkg/apis/events/v1 converts them (regarding ↔
  involvedObject, note ↔ message, reportingController ↔ reportingComponent, deprecatedSource ↔
  source, deprecatedCount ↔ count, deprecatedFirst/LastTimestamp ↔ first/lastTimestamp). Creating
  through events.k8s.io/v1 is validated as the API server does (eventTime, reportingController,
  reportingInstance, action and a Normal/Warning type are required: 422 otherwise).
- v1 PersistentVolumeClaims (status.phase Pending on create), Nodes (cluster scoped, status kept
  on create as kubelets register that way), Services, discovery.k8s.io/v1 EndpointSlices and
  storage.k8s.io/v1 StorageClasses;
- custom objects karpenter.sh/v1 NodePools (the published CRD) and NodeClaims (the CRD modelled in
  nodeclaim_crd.py), cluster scoped; status is dropped on create (status subresource) and set
  with a PATCH of `/status`, as Karpenter does. They are validated against the CRD's
  openAPIV3Schema; CEL rules (`x-kubernetes-validations`) are not evaluated: only a real API
  server enforces them.

Field selectors: comma-separated `path=value`, `path==value`, `path!=value` on the object as that
API presents it (`involvedObject.name` on v1 Events, `regarding.name` on events.k8s.io,
`status.phase` on pods): a real API server supports a fixed set of fields per kind; the double
evaluates any path, so a selector the server would refuse is the caller's problem to avoid.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.doubles import nodeclaim_crd

__all__ = ["RESOURCES", "Resource", "crd_validator", "events_view", "field_selector", "from_events_view"]


@dataclass(frozen=True)
class Resource:
    """One kind the store serves: where (group, version, plural), what (kind), how (scope, status)."""

    group: str  # "" for the core API
    version: str
    plural: str
    kind: str
    namespaced: bool
    status_on_create: str = "keep"  # keep | drop | pending (PVC: phase Pending)
    crd: str | None = None  # "nodepools" | "nodeclaims": validated against that CRD's schema

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def prefix(self) -> str:
        return f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"


RESOURCES: dict[str, Resource] = {
    r.plural if not r.group or r.group == "karpenter.sh" else f"{r.plural}.{r.group}": r
    for r in (
        Resource("", "v1", "events", "Event", True),
        Resource("events.k8s.io", "v1", "events", "Event", True),
        Resource("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", True, "pending"),
        Resource("", "v1", "nodes", "Node", False),
        Resource("", "v1", "services", "Service", True),
        Resource("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", True),
        Resource("storage.k8s.io", "v1", "storageclasses", "StorageClass", False),
        Resource("karpenter.sh", "v1", "nodepools", "NodePool", False, "drop", crd="nodepools"),
        Resource("karpenter.sh", "v1", "nodeclaims", "NodeClaim", False, "drop", crd="nodeclaims"),
    )
}

# events.k8s.io/v1 field  <->  core v1 field (pkg/apis/events/v1 conversion)
EVENT_FIELDS = (
    ("regarding", "involvedObject"),
    ("note", "message"),
    ("reportingController", "reportingComponent"),
    ("deprecatedSource", "source"),
    ("deprecatedCount", "count"),
    ("deprecatedFirstTimestamp", "firstTimestamp"),
    ("deprecatedLastTimestamp", "lastTimestamp"),
)
SAME_EVENT_FIELDS = ("metadata", "eventTime", "series", "reportingInstance", "action", "reason", "related", "type")


def events_view(core: dict[str, Any]) -> dict[str, Any]:
    """A stored (core v1) Event as events.k8s.io/v1 presents it."""
    # eventTime is a MicroTime without omitempty: an event made through v1 without one (kubelet
    # style) reads as `"eventTime": null`, which the typed python client (37) refuses to load.
    out: dict[str, Any] = {"apiVersion": "events.k8s.io/v1", "kind": "Event", "eventTime": None}
    for name in SAME_EVENT_FIELDS:
        if core.get(name) is not None:
            out[name] = copy.deepcopy(core[name])
    for new, old in EVENT_FIELDS:
        if core.get(old) is not None:
            out[new] = copy.deepcopy(core[old])
    return out


def from_events_view(event: dict[str, Any]) -> dict[str, Any]:
    """An events.k8s.io/v1 Event as the core v1 object the store keeps."""
    out: dict[str, Any] = {"apiVersion": "v1", "kind": "Event"}
    for name in SAME_EVENT_FIELDS:
        if event.get(name) is not None:
            out[name] = copy.deepcopy(event[name])
    for new, old in EVENT_FIELDS:
        if event.get(new) is not None:
            out[old] = copy.deepcopy(event[new])
    return out


def events_create_problems(event: dict[str, Any]) -> list[str]:
    """What the API server's events.k8s.io/v1 create validation refuses (ValidateEventCreate)."""
    required = ("eventTime", "reportingController", "reportingInstance", "action")
    problems = [f"{f}: Required value" for f in required if not event.get(f)]
    if event.get("type") not in ("Normal", "Warning"):
        problems.append(f'type: Unsupported value: {event.get("type")!r}: supported values: "Normal", "Warning"')
    if len(event.get("note") or "") > 1024:
        problems.append("note: Too long: may not be more than 1024 bytes")
    return problems


@functools.cache
def crd_validator(name: str) -> Any:
    """A jsonschema validator of the CRD's openAPIV3Schema (structural schema; CEL not evaluated)."""
    import jsonschema

    schema = {"nodepools": nodepool_schema, "nodeclaims": nodeclaim_schema}[name]()
    return jsonschema.validators.Draft7Validator(_strict(schema))


def _strict(schema: Any) -> Any:
    """Unknown fields are errors (as with `fieldValidation=Strict`): objects without
    additionalProperties get `additionalProperties: false`, except metadata and preserved maps."""
    if isinstance(schema, list):
        return [_strict(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _strict(v) for k, v in schema.items()}
    open_map = "additionalProperties" in out or out.get("x-kubernetes-preserve-unknown-fields")
    if out.get("type") == "object" and "properties" in out and not open_map:
        out["additionalProperties"] = False
    return out


def nodeclaim_schema() -> dict[str, Any]:
    return nodeclaim_crd.schema_of(nodeclaim_crd.crd())


def nodepool_schema() -> dict[str, Any]:
    return nodeclaim_crd.schema_of(nodeclaim_crd.crd_file(nodeclaim_crd.NODEPOOL_CRD))


def _path(obj: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


def field_selector(text: str, error: Callable[[str], Exception]) -> Callable[[dict[str, Any]], bool]:
    """`a.b=c,d!=e` as a predicate on an object (missing fields compare as "")."""
    rules: list[tuple[str, str, bool]] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        if "!=" in part:
            key, value = part.split("!=", 1)
            rules.append((key, value, False))
        elif "=" in part:
            key, value = part.replace("==", "=", 1).split("=", 1)
            rules.append((key, value, True))
        else:
            raise error(f"invalid field selector {part!r}: the kube API test double knows = == != only")

    def match(obj: dict[str, Any]) -> bool:
        def text_of(v: Any) -> str:
            return "" if v is None else str(v)

        return all((text_of(_path(obj, k)) == v) == equal for k, v, equal in rules)

    return match
