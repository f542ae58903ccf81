"""Seed 003's daily checks on EKS: GPU nodes Ready (`kubectl get nodes -l nvidia.com/gpu.present=true`)
and model pods Running (`kubectl get pods -n inference`), through the framework's Kubernetes target.
"""

from __future__ import annotations

from typing import Any

from infra.spec.model import Platform
from runbooks.daily.findings import Finding
from runbooks.targets.base import TargetError

GPU_NODE_SELECTOR = "nvidia.com/gpu.present=true"  # the label GPU feature discovery puts on GPU nodes
_BAD_WAITING = ("CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull", "CreateContainerConfigError")


def not_applicable(platform: Platform) -> list[Finding]:
    why = f"target {platform.target}: no Kubernetes (seed 003's EKS checks)"
    return [Finding("gpu-nodes", "-", "n/a", why), Finding("pods", "-", "n/a", why)]


def node_finding(node: Any) -> Finding:
    name = node.metadata.name
    conditions = {c.type: c for c in (node.status.conditions or [])} if node.status else {}
    ready = conditions.get("Ready")
    gpus = ((node.status.allocatable or {}) if node.status else {}).get("nvidia.com/gpu", "?")
    itype = (node.metadata.labels or {}).get("node.kubernetes.io/instance-type", "?")
    data = {"ready": ready.status if ready else None, "gpus": gpus, "instance_type": itype}
    if ready is not None and ready.status == "True":
        detail = f"Ready, {gpus} GPU(s), {itype}"
        if node.spec and node.spec.unschedulable:
            return Finding("gpu-nodes", name, "warn", f"{detail}, cordoned", data)
        return Finding("gpu-nodes", name, "ok", detail, data)
    reason = f"{ready.reason}: {ready.message}" if ready else "no Ready condition"
    return Finding("gpu-nodes", name, "fail", f"not Ready ({reason})", data)


def gpu_nodes(target: Any) -> list[Finding]:
    try:
        nodes = target._call("list GPU nodes", target.core.list_node, label_selector=GPU_NODE_SELECTOR).items
    except TargetError as err:
        return [Finding("gpu-nodes", "-", "fail", str(err))]
    if not nodes:
        return [Finding("gpu-nodes", "-", "warn", f"no node labelled {GPU_NODE_SELECTOR} (Karpenter scaled to zero?)")]
    return [node_finding(n) for n in nodes]


def pod_finding(pod: Any) -> Finding:
    name = pod.metadata.name
    phase = pod.status.phase if pod.status else "Unknown"
    statuses = (pod.status.container_statuses or []) if pod.status else []
    restarts = sum(s.restart_count or 0 for s in statuses)
    waiting = [s.state.waiting.reason for s in statuses if s.state and s.state.waiting and s.state.waiting.reason]
    ready = all(s.ready for s in statuses) if statuses else False
    data = {"phase": phase, "restarts": restarts, "ready": ready, "waiting": waiting}
    if any(w in _BAD_WAITING for w in waiting) or phase in ("Failed", "Unknown"):
        why = ", ".join(waiting) or "not running"
        return Finding("pods", name, "fail", f"{phase}, {why}, {restarts} restarts", data)
    if phase == "Succeeded":
        return Finding("pods", name, "ok", "Succeeded (a finished job)", data)
    if phase != "Running" or not ready:
        return Finding("pods", name, "warn", f"{phase}, {'ready' if ready else 'not ready'}", data)
    if restarts:
        return Finding("pods", name, "warn", f"Running, restarted {restarts} times (ModelPodRestarting at > 3/h)", data)
    return Finding("pods", name, "ok", "Running, ready", data)


def pods(target: Any) -> list[Finding]:
    ns = target.namespace
    try:
        items = target._call(f"list pods in {ns}", target.core.list_namespaced_pod, ns).items
    except TargetError as err:
        return [Finding("pods", "-", "fail", str(err))]
    if not items:
        return [Finding("pods", "-", "fail", f"no pods in namespace {ns!r}; is the stack deployed?")]
    return [pod_finding(p) for p in items]
