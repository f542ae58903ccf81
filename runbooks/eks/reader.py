"""Read what seed 003's diagnosis commands show, through the kubernetes client (read-only).

`kubectl describe pod` → pods and their events (events.k8s.io/v1, where the scheduler and
Karpenter write, merged with v1 by uid: one resource, two APIs); `kubectl logs --previous` →
each restarted or failed container's logs, current and previous; `kubectl get pvc`, `kubectl get
nodeclaims`, NodePools, nodes, Karpenter's controller logs, `kubectl exec` (getent, curl,
nvidia-smi), DCGM from Prometheus. What cannot be read (no permission, no CRD, no Prometheus) is
noted in `looked_at` and the diagnosis goes on without it; a cluster that does not answer at
all is TargetUnreachable (exit 3).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from runbooks.eks.evidence import (
    EventEvidence,
    Evidence,
    ExecEvidence,
    LogEvidence,
    NodeClaimEvidence,
    NodeEvidence,
    NodePoolEvidence,
    PodEvidence,
    PvcEvidence,
)
from runbooks.targets.base import TargetError

__all__ = ["KARPENTER_NAMESPACES", "KARPENTER_SELECTOR", "LOG_TAIL", "Reader"]

LOG_TAIL = 200
KARPENTER_SELECTOR = "app.kubernetes.io/name=karpenter"  # the Helm chart's label (seed 003's `kubectl logs -l`)
KARPENTER_NAMESPACES = ("karpenter", "kube-system")
# Karpenter records events about cluster-scoped objects (NodeClaims, NodePools, nodes) in `default`.
CLUSTER_EVENTS_NS = "default"


class Reader:
    """Reads into one Evidence; every read says in `evidence.looked_at` what it read or why not."""

    def __init__(self, target: Any) -> None:
        self.target = target  # runbooks.targets.k8s_target.KubernetesTarget
        self.ns = target.namespace
        self.evidence = Evidence()

    # ---- plumbing ---------------------------------------------------------------------------
    def _plain(self, obj: Any) -> Any:
        return self.target.api.sanitize_for_serialization(obj)

    def _optional(self, what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any | None:
        """fn(...) or None when the API refuses (403, 404, 400): noted, the diagnosis goes on."""
        from kubernetes.client.exceptions import ApiException

        try:
            return self.target._call(what, fn, *args, raw=True, **kwargs)
        except ApiException as err:
            self.note(f"{what}: not readable ({err.status} {err.reason}{_message(err)})")
            return None

    def _raw_items(self, what: str, fn: Callable[..., Any], *args: Any) -> list[dict[str, Any]]:
        """A list's items as the JSON the server sent: events.k8s.io/v1 events made through v1
        carry `"eventTime": null`, which the typed client's EventsV1Event refuses (it is required)."""
        import json

        resp = self._optional(what, fn, *args, _preload_content=False)
        if resp is None:
            return []
        return list(json.loads(resp.data or b"{}").get("items") or [])

    def note(self, text: str) -> None:
        self.evidence.looked_at.append(text)

    @property
    def core(self) -> Any:
        return self.target.core

    def _api(self, name: str) -> Any:
        from kubernetes import client

        return getattr(client, name)(self.target.api)

    # ---- pods, events, logs -----------------------------------------------------------------
    def pods(self, label_selector: str | None = None) -> list[PodEvidence]:
        kwargs = {"label_selector": label_selector} if label_selector else {}
        items = self.target._call(f"list pods in {self.ns}", self.core.list_namespaced_pod, self.ns, **kwargs).items
        pods = [PodEvidence.of(self._plain(p)) for p in items]
        self.evidence.pods += pods
        pending = sum(p.pending for p in pods)
        self.note(
            f"pods in {self.ns}{f' ({label_selector})' if label_selector else ''}: {len(pods)}, {pending} pending"
        )
        return pods

    def events(self, namespace: str | None = None, kinds: tuple[str, ...] = ()) -> list[EventEvidence]:
        """Events of a namespace from both APIs, one per uid (events.k8s.io/v1 first)."""
        ns = namespace or self.ns
        found: dict[str, EventEvidence] = {}
        for api, fn in (
            ("events.k8s.io/v1", self._api("EventsV1Api").list_namespaced_event),
            ("v1", self.core.list_namespaced_event),
        ):
            for item in self._raw_items(f"{api} events in {ns}", fn, ns):
                ev = EventEvidence.of(item, api)
                found.setdefault(ev.uid or ev.name, ev)
        events = [e for e in found.values() if not kinds or e.kind in kinds]
        self.evidence.events += events
        self.note(
            f"events in {ns} (events.k8s.io/v1 and v1){' about ' + ', '.join(kinds) if kinds else ''}: {len(events)}"
        )
        return events

    def log(self, pod: str, container: str, previous: bool, namespace: str | None = None) -> LogEvidence:
        ns = namespace or self.ns
        what = f"logs {pod}/{container}{' --previous' if previous else ''}"
        from kubernetes.client.exceptions import ApiException

        try:
            text = self.target._call(
                what,
                self.core.read_namespaced_pod_log,
                pod,
                ns,
                container=container,
                previous=previous,
                tail_lines=LOG_TAIL,
                raw=True,
            )
            found = LogEvidence(pod, container, previous, tuple(str(text or "").splitlines()))
        except ApiException as err:
            found = LogEvidence(pod, container, previous, error=f"{err.status} {err.reason}{_message(err)}")
        self.note(f"{found.ref}: {found.error or f'{len(found.lines)} lines'}")
        return found

    def container_logs(self, pods: list[PodEvidence], only: Callable[[PodEvidence], bool] | None = None) -> None:
        """Current and previous logs of each container that restarted, failed or waits."""
        for pod in pods:
            if only is not None and not only(pod):
                continue
            for c in pod.containers:
                if c.state == "running" and not c.restarts:
                    continue
                if not pod.node:
                    continue
                self.evidence.logs.append(self.log(pod.name, c.name, previous=False))
                if c.restarts or c.last_reason:
                    self.evidence.logs.append(self.log(pod.name, c.name, previous=True))

    def exec(self, pod: str, command: list[str]) -> ExecEvidence:
        """`kubectl exec` of one command; an exec that cannot run is evidence too (exit_code None)."""
        try:
            result = self.target.exec_pod(pod, command)
            found = ExecEvidence(pod, tuple(command), result.exit_code, result.output)
        except TargetError as err:
            found = ExecEvidence(pod, tuple(command), None, str(err))
        self.evidence.execs.append(found)
        status = f"could not run: {found.output}" if found.exit_code is None else f"exit {found.exit_code}"
        self.note(f"{found.ref}: {status}")
        return found

    # ---- storage, nodes, Karpenter ----------------------------------------------------------
    def pvcs(self) -> list[PvcEvidence]:
        found = self._optional(f"PVCs in {self.ns}", self.core.list_namespaced_persistent_volume_claim, self.ns)
        pvcs = [PvcEvidence.of(self._plain(p)) for p in (found.items if found else [])]
        self.evidence.pvcs += pvcs
        pending = [p.name for p in pvcs if p.phase != "Bound"]
        self.note(f"PVCs in {self.ns}: {len(pvcs)}" + (f", not bound: {', '.join(pending)}" if pending else ""))
        return pvcs

    def storage_classes(self) -> None:
        found = self._optional("storage classes", self._api("StorageV1Api").list_storage_class)
        for sc in found.items if found else []:
            annotations = sc.metadata.annotations or {}
            default = annotations.get("storageclass.kubernetes.io/is-default-class") == "true"
            self.evidence.storage_classes[sc.metadata.name] = default
        if found is not None:
            self.note(f"storage classes: {', '.join(self.evidence.storage_classes) or 'none'}")

    def nodes(self) -> list[NodeEvidence]:
        found = self._optional("nodes", self.core.list_node)
        nodes = [NodeEvidence.of(self._plain(n)) for n in (found.items if found else [])]
        self.evidence.nodes += nodes
        if found is not None:
            self.note(f"nodes: {len(nodes)}, {sum(n.ready for n in nodes)} Ready")
        return nodes

    def karpenter(self, plural: str) -> list[dict[str, Any]]:
        api = self._api("CustomObjectsApi")
        found = self._optional(f"{plural}.karpenter.sh", api.list_cluster_custom_object, "karpenter.sh", "v1", plural)
        items = list((found or {}).get("items") or [])
        if found is not None:
            self.note(f"{plural}.karpenter.sh/v1: {len(items)}")
        return items

    def nodepools(self) -> list[NodePoolEvidence]:
        pools = [NodePoolEvidence.of(p) for p in self.karpenter("nodepools")]
        self.evidence.nodepools += pools
        return pools

    def nodeclaims(self) -> list[NodeClaimEvidence]:
        claims = [NodeClaimEvidence.of(c) for c in self.karpenter("nodeclaims")]
        self.evidence.nodeclaims += claims
        return claims

    def controller_logs(self) -> None:
        """Karpenter's controller logs (seed 003: `kubectl logs -n karpenter -l app.kubernetes.io/name=karpenter`)."""
        from kubernetes.client.exceptions import ApiException

        for ns in KARPENTER_NAMESPACES:
            try:
                pods = self.target._call(
                    f"karpenter pods in {ns}",
                    self.core.list_namespaced_pod,
                    ns,
                    label_selector=KARPENTER_SELECTOR,
                    raw=True,
                ).items
            except ApiException as err:
                self.note(f"karpenter controller in {ns}: not readable ({err.status} {err.reason})")
                continue
            for pod in pods:
                container = pod.spec.containers[0].name
                self.evidence.controller_logs.append(self.log(pod.metadata.name, container, False, namespace=ns))
            if pods:
                return
        self.note(
            f"karpenter controller logs: no pod labelled {KARPENTER_SELECTOR} in {', '.join(KARPENTER_NAMESPACES)}"
        )

    # ---- network ----------------------------------------------------------------------------
    def services(self) -> None:
        found = self._optional(f"services in {self.ns}", self.core.list_namespaced_service, self.ns)
        self.evidence.services = [s.metadata.name for s in (found.items if found else [])]
        slices = self._optional(
            f"endpointslices in {self.ns}", self._api("DiscoveryV1Api").list_namespaced_endpoint_slice, self.ns
        )
        for sl in slices.items if slices else []:
            svc = (sl.metadata.labels or {}).get("kubernetes.io/service-name", "")
            ready = sum(1 for ep in sl.endpoints or [] if ep.conditions is None or ep.conditions.ready is not False)
            self.evidence.ready_endpoints[svc] = self.evidence.ready_endpoints.get(svc, 0) + ready
        count = len(slices.items) if slices else 0
        self.note(f"services in {self.ns}: {len(self.evidence.services)}; endpointslices: {count}")

    # ---- GPU memory -------------------------------------------------------------------------
    def dcgm(self, url: str | None) -> None:
        """GPU memory from DCGM through Prometheus, where there is one."""
        from runbooks.daily.prom import PromError, Prometheus
        from runbooks.gpu.errors import MemoryReadingError
        from runbooks.gpu.memory import DCGM_QUERY, parse_dcgm

        if not url:
            self.note("DCGM: no Prometheus URL (--prometheus-url or inferops:dailyCheck.prometheus_url): not read")
            return
        prom = Prometheus(url)
        try:
            self.evidence.gpu_memory = parse_dcgm(prom.raw(DCGM_QUERY))
            self.note(f"DCGM at {url}: {len(self.evidence.gpu_memory)} GPU(s)")
        except (PromError, MemoryReadingError) as err:
            self.note(f"DCGM at {url}: {err}")
        finally:
            prom.close()


def _message(err: Any) -> str:
    """The Status message of an ApiException (`: pods "x" not found`), if it has one."""
    import json

    try:
        body = json.loads(err.body or "{}")
    except (TypeError, ValueError):
        return ""
    return f": {body['message']}" if isinstance(body, dict) and body.get("message") else ""
