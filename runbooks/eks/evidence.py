"""What the EKS diagnoses read, as plain typed data: pods, events, logs, NodeClaims, NodePools, PVCs.

Each type is built from the object as the API server sends it (camelCase JSON, what
`ApiClient.sanitize_for_serialization` returns), so the classifiers are pure functions of data a
test can write down from seed 003's symptoms, and a run record can keep what was read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ContainerEvidence",
    "EventEvidence",
    "Evidence",
    "ExecEvidence",
    "LogEvidence",
    "NodeClaimEvidence",
    "NodeEvidence",
    "NodePoolEvidence",
    "PodEvidence",
    "PvcEvidence",
    "Requirement",
    "quantity",
]

ZONE_KEY = "topology.kubernetes.io/zone"
INSTANCE_TYPE_KEY = "node.kubernetes.io/instance-type"
FAMILY_KEY = "karpenter.k8s.aws/instance-family"
CAPACITY_TYPE_KEY = "karpenter.sh/capacity-type"
NODEPOOL_KEY = "karpenter.sh/nodepool"
GPU = "nvidia.com/gpu"
_SUFFIX = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "m": 1e-3}


def quantity(value: Any) -> float:
    """A Kubernetes quantity (`8`, `500m`, `64Gi`) as a number; 0 for none."""
    if value is None or value == "":
        return 0.0
    text = str(value)
    for suffix in sorted(_SUFFIX, key=len, reverse=True):
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * _SUFFIX[suffix]
    return float(text)


@dataclass(frozen=True)
class Requirement:
    """A node selector requirement (pod node affinity, NodePool or NodeClaim requirements)."""

    key: str
    operator: str
    values: tuple[str, ...] = ()

    @classmethod
    def of(cls, d: dict[str, Any]) -> Requirement:
        return cls(d.get("key", ""), d.get("operator", ""), tuple(d.get("values") or ()))


def _requirements(items: list[dict[str, Any]] | None) -> tuple[Requirement, ...]:
    return tuple(Requirement.of(r) for r in items or [])


@dataclass(frozen=True)
class ContainerEvidence:
    """One container status: state now, last termination, restarts."""

    name: str
    init: bool = False
    image: str = ""
    ready: bool = False
    restarts: int = 0
    state: str = "unknown"  # running | waiting | terminated | unknown
    reason: str = ""  # of the waiting or terminated state
    message: str = ""
    exit_code: int | None = None
    last_reason: str = ""  # lastState.terminated.reason (OOMKilled, Error, ...)
    last_exit_code: int | None = None

    @classmethod
    def of(cls, d: dict[str, Any], init: bool = False) -> ContainerEvidence:
        states: dict[str, dict[str, Any]] = d.get("state") or {}
        state_name, state = next(iter(states.items()), ("unknown", {}))
        last = (d.get("lastState") or {}).get("terminated") or {}
        return cls(
            name=d.get("name", ""),
            init=init,
            image=d.get("image", ""),
            ready=bool(d.get("ready")),
            restarts=int(d.get("restartCount") or 0),
            state=state_name,
            reason=(state or {}).get("reason", "") or "",
            message=(state or {}).get("message", "") or "",
            exit_code=(state or {}).get("exitCode"),
            last_reason=last.get("reason", "") or "",
            last_exit_code=last.get("exitCode"),
        )

    @property
    def oom_killed(self) -> bool:
        return "OOMKilled" in (self.reason, self.last_reason)

    @property
    def crashing(self) -> bool:
        return (
            self.restarts > 0
            or self.reason == "CrashLoopBackOff"
            or (self.state == "terminated" and bool(self.exit_code))
        )


@dataclass(frozen=True)
class PodEvidence:
    namespace: str
    name: str
    phase: str = "Unknown"
    node: str = ""
    uid: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    containers: tuple[ContainerEvidence, ...] = ()
    gpu_request: float = 0
    memory_limit: str = ""
    tolerations: tuple[dict[str, Any], ...] = ()
    requirements: tuple[Requirement, ...] = ()  # required node affinity (first term) and nodeSelector
    claims: tuple[str, ...] = ()
    conditions: dict[str, tuple[str, str, str]] = field(default_factory=dict)  # type -> (status, reason, message)
    init_names: tuple[str, ...] = ()
    app_names: tuple[str, ...] = ()

    @classmethod
    def of(cls, d: dict[str, Any]) -> PodEvidence:
        meta, spec, status = d.get("metadata") or {}, d.get("spec") or {}, d.get("status") or {}
        main = [ContainerEvidence.of(c) for c in status.get("containerStatuses") or []]
        init = [ContainerEvidence.of(c, init=True) for c in status.get("initContainerStatuses") or []]
        gpu = sum(
            quantity(((c.get("resources") or {}).get("requests") or {}).get(GPU)) for c in spec.get("containers", [])
        )
        limits = [
            ((c.get("resources") or {}).get("limits") or {}).get("memory", "") for c in spec.get("containers", [])
        ]
        return cls(
            namespace=meta.get("namespace", ""),
            name=meta.get("name", ""),
            phase=status.get("phase", "Unknown"),
            node=spec.get("nodeName", "") or "",
            uid=meta.get("uid", ""),
            labels=dict(meta.get("labels") or {}),
            containers=tuple(init + main),
            gpu_request=gpu,
            memory_limit=next((m for m in limits if m), ""),
            tolerations=tuple(spec.get("tolerations") or ()),
            requirements=_pod_requirements(spec),
            claims=tuple(
                v["persistentVolumeClaim"]["claimName"]
                for v in spec.get("volumes") or []
                if v.get("persistentVolumeClaim")
            ),
            conditions={
                c["type"]: (c.get("status", ""), c.get("reason", "") or "", c.get("message", "") or "")
                for c in status.get("conditions") or []
            },
            init_names=tuple(c["name"] for c in spec.get("initContainers") or []),
            app_names=tuple(c["name"] for c in spec.get("containers") or []),
        )

    @property
    def ref(self) -> str:
        return f"pod {self.namespace}/{self.name}"

    @property
    def service(self) -> str:
        return self.labels.get("app.kubernetes.io/name", "")

    @property
    def pending(self) -> bool:
        """Not bound to a node yet (what the scheduler and Karpenter act on)."""
        return self.phase == "Pending" and not self.node

    def values_of(self, key: str) -> tuple[str, ...] | None:
        """The values the pod requires for node label `key` (In / nodeSelector); None: no requirement."""
        found = [r for r in self.requirements if r.key == key and r.operator == "In"]
        return tuple(v for r in found for v in r.values) if found else None

    def tolerates(self, taint: dict[str, Any]) -> bool:
        """Whether one of the pod's tolerations tolerates `taint` (v1 toleration semantics)."""
        for t in self.tolerations:
            if t.get("effect") and t["effect"] != taint.get("effect"):
                continue
            if t.get("operator") == "Exists" and (not t.get("key") or t["key"] == taint.get("key")):
                return True
            if t.get("key") == taint.get("key") and t.get("value", "") == taint.get("value", ""):
                return True
        return False


def _pod_requirements(spec: dict[str, Any]) -> tuple[Requirement, ...]:
    reqs = [Requirement(k, "In", (v,)) for k, v in (spec.get("nodeSelector") or {}).items()]
    affinity = ((spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution"
    )
    terms = (affinity or {}).get("nodeSelectorTerms") or []
    if terms:  # terms are ORed: the first one is what the EKS program writes (one term)
        reqs += list(_requirements(terms[0].get("matchExpressions")))
    return tuple(reqs)


@dataclass(frozen=True)
class EventEvidence:
    """One event, from either events API (`api` says which answered it)."""

    namespace: str
    name: str
    uid: str
    kind: str  # of the object it is about
    object_name: str
    reason: str
    message: str
    type: str = "Normal"
    source: str = ""  # reporting controller / component
    count: int = 1
    api: str = "events.k8s.io/v1"

    @classmethod
    def of(cls, d: dict[str, Any], api: str) -> EventEvidence:
        meta = d.get("metadata") or {}
        if api == "v1":
            about, message = d.get("involvedObject") or {}, d.get("message", "")
            source = d.get("reportingComponent") or (d.get("source") or {}).get("component", "")
            count = d.get("count") or (d.get("series") or {}).get("count") or 1
        else:
            about, message = d.get("regarding") or {}, d.get("note", "")
            source = d.get("reportingController") or (d.get("deprecatedSource") or {}).get("component", "")
            count = (d.get("series") or {}).get("count") or d.get("deprecatedCount") or 1
        return cls(
            namespace=meta.get("namespace", ""),
            name=meta.get("name", ""),
            uid=meta.get("uid", ""),
            kind=about.get("kind", ""),
            object_name=about.get("name", ""),
            reason=d.get("reason", "") or "",
            message=message or "",
            type=d.get("type", "Normal") or "Normal",
            source=source or "",
            count=int(count),
            api=api,
        )

    @property
    def line(self) -> str:
        """The event as `kubectl describe` shows it."""
        return f"{self.type} {self.reason} ({self.source or '?'}, x{self.count}): {self.message}"


@dataclass(frozen=True)
class LogEvidence:
    pod: str
    container: str
    previous: bool
    lines: tuple[str, ...] = ()
    error: str = ""  # why there is no log (the API server's message)

    @property
    def ref(self) -> str:
        return f"logs {self.pod}/{self.container}" + (" --previous" if self.previous else "")


@dataclass(frozen=True)
class ExecEvidence:
    pod: str
    command: tuple[str, ...]
    exit_code: int | None  # None: the exec could not run (the message says why)
    output: str = ""

    @property
    def ref(self) -> str:
        return f"exec {self.pod}: {' '.join(self.command)}"


@dataclass(frozen=True)
class NodeClaimEvidence:
    name: str
    nodepool: str
    conditions: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    requirements: tuple[Requirement, ...] = ()
    node_name: str = ""
    created: str = ""

    @classmethod
    def of(cls, d: dict[str, Any]) -> NodeClaimEvidence:
        meta, spec, status = d.get("metadata") or {}, d.get("spec") or {}, d.get("status") or {}
        return cls(
            name=meta.get("name", ""),
            nodepool=(meta.get("labels") or {}).get(NODEPOOL_KEY, ""),
            conditions={
                c["type"]: (c.get("status", ""), c.get("reason", ""), c.get("message", ""))
                for c in status.get("conditions") or []
            },
            requirements=_requirements(spec.get("requirements")),
            node_name=status.get("nodeName", "") or "",
            created=meta.get("creationTimestamp", "") or "",
        )

    def status(self, condition: str) -> str:
        return self.conditions.get(condition, ("Unknown", "", ""))[0]


@dataclass(frozen=True)
class NodePoolEvidence:
    name: str
    limits: dict[str, str] = field(default_factory=dict)
    resources: dict[str, str] = field(default_factory=dict)  # status.resources: provisioned so far
    requirements: tuple[Requirement, ...] = ()
    taints: tuple[dict[str, Any], ...] = ()
    conditions: dict[str, tuple[str, str, str]] = field(default_factory=dict)

    @classmethod
    def of(cls, d: dict[str, Any]) -> NodePoolEvidence:
        meta, spec, status = d.get("metadata") or {}, d.get("spec") or {}, d.get("status") or {}
        template = ((spec.get("template") or {}).get("spec")) or {}
        return cls(
            name=meta.get("name", ""),
            limits={k: str(v) for k, v in (spec.get("limits") or {}).items()},
            resources={k: str(v) for k, v in (status.get("resources") or {}).items()},
            requirements=_requirements(template.get("requirements")),
            taints=tuple(template.get("taints") or ()),
            conditions={
                c["type"]: (c.get("status", ""), c.get("reason", ""), c.get("message", ""))
                for c in status.get("conditions") or []
            },
        )

    def values_of(self, key: str) -> tuple[str, ...] | None:
        found = [r for r in self.requirements if r.key == key and r.operator == "In"]
        return tuple(v for r in found for v in r.values) if found else None


@dataclass(frozen=True)
class PvcEvidence:
    namespace: str
    name: str
    phase: str
    storage_class: str = ""
    access_modes: tuple[str, ...] = ()

    @classmethod
    def of(cls, d: dict[str, Any]) -> PvcEvidence:
        meta, spec, status = d.get("metadata") or {}, d.get("spec") or {}, d.get("status") or {}
        return cls(
            namespace=meta.get("namespace", ""),
            name=meta.get("name", ""),
            phase=status.get("phase", "Pending"),
            storage_class=spec.get("storageClassName", "") or "",
            access_modes=tuple(spec.get("accessModes") or ()),
        )


@dataclass(frozen=True)
class NodeEvidence:
    name: str
    zone: str = ""
    instance_type: str = ""
    ready: bool = False

    @classmethod
    def of(cls, d: dict[str, Any]) -> NodeEvidence:
        meta, status = d.get("metadata") or {}, d.get("status") or {}
        labels = meta.get("labels") or {}
        ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])
        return cls(meta.get("name", ""), labels.get(ZONE_KEY, ""), labels.get(INSTANCE_TYPE_KEY, ""), ready)


@dataclass
class Evidence:
    """Everything one diagnosis read, and what it could not read (`looked_at` says both)."""

    pods: list[PodEvidence] = field(default_factory=list)
    events: list[EventEvidence] = field(default_factory=list)
    logs: list[LogEvidence] = field(default_factory=list)
    execs: list[ExecEvidence] = field(default_factory=list)
    nodeclaims: list[NodeClaimEvidence] = field(default_factory=list)
    nodepools: list[NodePoolEvidence] = field(default_factory=list)
    pvcs: list[PvcEvidence] = field(default_factory=list)
    nodes: list[NodeEvidence] = field(default_factory=list)
    services: list[str] = field(default_factory=list)
    ready_endpoints: dict[str, int] = field(default_factory=dict)  # service -> ready endpoints
    storage_classes: dict[str, bool] = field(default_factory=dict)  # name -> is the default class
    controller_logs: list[LogEvidence] = field(default_factory=list)
    pvc_events: list[EventEvidence] = field(default_factory=list)
    gpu_memory: list[Any] = field(default_factory=list)  # runbooks.gpu.memory.GpuMemory
    looked_at: list[str] = field(default_factory=list)

    def events_for(self, kind: str, name: str) -> list[EventEvidence]:
        return [e for e in self.events if e.kind == kind and e.object_name == name]

    def logs_of(self, pod: str, container: str | None = None) -> list[LogEvidence]:
        return [lg for lg in self.logs if lg.pod == pod and container in (None, lg.container)]

    def pool(self, name: str) -> NodePoolEvidence | None:
        return next((p for p in self.nodepools if p.name == name), None)

    def pvc(self, name: str) -> PvcEvidence | None:
        return next((p for p in self.pvcs if p.name == name), None)

    def node(self, name: str) -> NodeEvidence | None:
        return next((n for n in self.nodes if n.name == name), None)
