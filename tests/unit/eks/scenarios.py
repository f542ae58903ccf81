"""Seed 003's incidents as cluster states, created through the real kubernetes client.

Every object (pods, their status, events, NodeClaims, NodePool status, PVCs, nodes) is created
with the client's own API calls, so pointing `Cluster` at a real API server (the local control
plane of branch `kube`) is the only change needed there. Three things are not API objects and
only the double can be told them: container logs (the kubelet's), exec output (the container's
programs) and, on a control plane with a scheduler, nothing else — there the scheduler writes
FailedScheduling itself, so `scheduler_event` writes the event only on the double (where no
scheduler runs) and says so.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

__all__ = ["Cluster", "gpu_pod_spec", "now"]

NS = "inference"
KARPENTER = "karpenter"


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def micro_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def gpu_pod_spec(template_spec: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A pod spec from the EKS program's pod template, with `changes` at the top level."""
    import copy

    spec = copy.deepcopy(template_spec)
    spec.update(changes)
    return spec


class Cluster:
    """Scenario steps on one API server; `double` is the KubeApiDouble (None on a real one)."""

    def __init__(self, api_client: Any, double: Any = None) -> None:
        from kubernetes import client

        self.api = api_client
        self.double = double
        self.core = client.CoreV1Api(api_client)
        self.events = client.EventsV1Api(api_client)
        self.custom = client.CustomObjectsApi(api_client)

    # ---- pods -------------------------------------------------------------------------------
    def pod(self, name: str, spec: dict[str, Any], labels: dict[str, str] | None = None, ns: str = NS) -> dict:
        spec = _text_quantities(spec)
        body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels or {}}, "spec": spec}
        return self.api.sanitize_for_serialization(self.core.create_namespaced_pod(ns, body))

    def pod_status(self, name: str, status: dict[str, Any], ns: str = NS) -> None:
        """What the kubelet reports (container states, restarts, last termination)."""
        self.core.patch_namespaced_pod_status(name, ns, {"status": status})

    def scheduler_event(self, pod: str, message: str, ns: str = NS) -> None:
        """The scheduler's FailedScheduling event. On the double it is written here, through
        events.k8s.io/v1 as kube-scheduler writes it; on a real control plane the scheduler
        writes its own (this waits for nothing and writes nothing there)."""
        if self.double is None:
            return
        self.event(pod, "FailedScheduling", message, "default-scheduler", action="Scheduling", ns=ns)

    def event(
        self,
        pod: str,
        reason: str,
        note: str,
        controller: str,
        action: str = "Scheduling",
        kind: str = "Pod",
        ns: str = NS,
        type_: str = "Warning",
        api: str = "events.k8s.io/v1",
    ) -> None:
        """An event about `pod` (or a NodeClaim...) as `controller` reports it, through either API."""
        name = f"{pod}.{reason.lower()}.{len(self.core.list_namespaced_event(ns).items)}"
        about = {"kind": kind, "name": pod, "apiVersion": "v1" if kind == "Pod" else "karpenter.sh/v1"}
        if kind == "Pod":
            about["namespace"] = ns
        if api == "v1":
            body = {
                "metadata": {"name": name},
                "involvedObject": about,
                "reason": reason,
                "message": note,
                "type": type_,
                "source": {"component": controller},
                "count": 1,
                "firstTimestamp": now(),
                "lastTimestamp": now(),
            }
            self.core.create_namespaced_event(ns, body)
            return
        body = {
            "metadata": {"name": name},
            "eventTime": micro_now(),
            "reportingController": controller,
            "reportingInstance": f"{controller}-0",
            "action": action,
            "reason": reason,
            "regarding": about,
            "note": note,
            "type": type_,
        }
        self.events.create_namespaced_event(ns, body)

    def log(
        self, pod: str, lines: list[str], container: str | None = None, previous: bool = False, ns: str = NS
    ) -> None:
        """The container's log (the kubelet's, not an API object: only the double takes it)."""
        self.double.write_log(pod, lines, container=container, previous=previous, namespace=ns)

    def exec_answer(self, pod: str, executable: str, code: int, stdout: str = "", stderr: str = "") -> None:
        """What a program in the container answers to an exec (only the double takes it)."""
        self.double.answer_exec(pod, executable, code, stdout, stderr)

    # ---- nodes, storage, Karpenter ----------------------------------------------------------
    def node(self, name: str, zone: str, instance_type: str, gpus: int = 8, pool: str = "gpu") -> None:
        labels = {
            "topology.kubernetes.io/zone": zone,
            "node.kubernetes.io/instance-type": instance_type,
            "karpenter.sh/nodepool": pool,
            "nvidia.com/gpu.present": "true",
        }
        body = {
            "metadata": {"name": name, "labels": labels},
            "status": {
                "allocatable": {"nvidia.com/gpu": str(gpus), "cpu": "96", "memory": "1152Gi"},
                "conditions": [
                    {
                        "type": "Ready",
                        "status": "True",
                        "reason": "KubeletReady",
                        "message": "ok",
                        "lastHeartbeatTime": now(),
                        "lastTransitionTime": now(),
                    }
                ],
            },
        }
        self.core.create_node(body)

    def pvc_pending(self, name: str, storage_class: str, ns: str = NS) -> None:
        """A claim no provisioner serves (the PV controller keeps it Pending)."""
        body = {
            "metadata": {"name": name},
            "spec": {
                "accessModes": ["ReadWriteMany"],
                "storageClassName": storage_class,
                "resources": {"requests": {"storage": "200Gi"}},
            },
        }
        self.core.create_namespaced_persistent_volume_claim(ns, body)

    def storage_class(self, name: str, provisioner: str, default: bool = False) -> None:
        from kubernetes import client

        annotations = {"storageclass.kubernetes.io/is-default-class": "true"} if default else {}
        body = {"metadata": {"name": name, "annotations": annotations}, "provisioner": provisioner}
        client.StorageV1Api(self.api).create_storage_class(body)

    def nodepool_status(self, pool: str, resources: dict[str, str], ready: bool = True) -> None:
        """What Karpenter's nodepool counter and readiness controllers write."""
        cond = {
            "type": "Ready",
            "status": "True" if ready else "False",
            "reason": "Ready" if ready else "NodeClassNotReady",
            "message": "" if ready else "EC2NodeClass gpu is not ready",
            "lastTransitionTime": now(),
        }
        body = {"status": {"resources": resources, "conditions": [cond]}}
        self.custom.patch_cluster_custom_object_status("karpenter.sh", "v1", "nodepools", pool, body)

    def nodeclaim(
        self,
        name: str,
        pool: str,
        conditions: dict[str, tuple[str, str, str]],
        requirements: list[dict[str, Any]] | None = None,
    ) -> None:
        """A NodeClaim as Karpenter's provisioner creates it, then the status its lifecycle
        controller leaves (conditions type -> (status, reason, message))."""
        body = {
            "apiVersion": "karpenter.sh/v1",
            "kind": "NodeClaim",
            "metadata": {"name": name, "labels": {"karpenter.sh/nodepool": pool}},
            "spec": {
                "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": pool},
                "requirements": requirements
                or [{"key": "node.kubernetes.io/instance-type", "operator": "In", "values": ["p4d.24xlarge"]}],
                "resources": {"requests": {"nvidia.com/gpu": "1"}},
                "taints": [{"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}],
            },
        }
        self.custom.create_cluster_custom_object("karpenter.sh", "v1", "nodeclaims", body)
        status = {
            "conditions": [
                {"type": t, "status": s, "reason": r, "message": m, "lastTransitionTime": now()}
                for t, (s, r, m) in conditions.items()
            ]
        }
        self.custom.patch_cluster_custom_object_status("karpenter.sh", "v1", "nodeclaims", name, {"status": status})

    def karpenter_controller(self, lines: list[str]) -> None:
        """Karpenter's controller pod in its namespace, running, with these log lines."""
        labels = {"app.kubernetes.io/name": "karpenter"}
        spec = {
            "nodeName": "system-node-1",
            "containers": [{"name": "controller", "image": "karpenter/controller:1.6"}],
        }
        self.pod("karpenter-6b7f9d-abcde", spec, labels, ns=KARPENTER)
        self.pod_status("karpenter-6b7f9d-abcde", _running("controller"), ns=KARPENTER)
        if self.double is not None:
            self.log("karpenter-6b7f9d-abcde", lines, ns=KARPENTER)


def _text_quantities(spec: dict[str, Any]) -> dict[str, Any]:
    """Resource quantities as strings (the client's models take Quantity text; the program writes ints)."""
    import copy

    spec = copy.deepcopy(spec)
    for c in spec.get("containers", []) + spec.get("initContainers", []):
        for part in ("requests", "limits"):
            values = (c.get("resources") or {}).get(part)
            if values:
                c["resources"][part] = {k: str(v) for k, v in values.items()}
    return spec


def _running(container: str) -> dict[str, Any]:
    return {
        "phase": "Running",
        "containerStatuses": [
            {
                "name": container,
                "image": "x",
                "imageID": "",
                "ready": True,
                "restartCount": 0,
                "started": True,
                "state": {"running": {"startedAt": now()}},
            }
        ],
    }


def endpoints_ready(cluster: Cluster, ns: str = NS) -> None:
    """An EndpointSlice with one ready endpoint per Service, as the EndpointSlice controller
    writes them on a real control plane (the double runs no such controller)."""
    from kubernetes import client

    discovery = client.DiscoveryV1Api(cluster.api)
    for i, svc in enumerate(cluster.core.list_namespaced_service(ns).items):
        body = {
            "metadata": {
                "name": f"{svc.metadata.name}-ep",
                "labels": {"kubernetes.io/service-name": svc.metadata.name},
            },
            "addressType": "IPv4",
            "endpoints": [{"addresses": [f"10.1.0.{i + 2}"], "conditions": {"ready": True}}],
            "ports": [{"name": "http", "port": svc.spec.ports[0].port, "protocol": "TCP"}],
        }
        discovery.create_namespaced_endpoint_slice(ns, body)
