"""`runbook.reload` on the Kubernetes target: stack config change, then a rollout of the workload.

The EKS program renders every inference Deployment with RollingUpdate maxSurge 1 /
maxUnavailable 0, readiness probes on the health endpoint, a preStop drain and a termination
grace period from config (infra/targets/k8s/), so Kubernetes itself runs seed 002's phases: the
new pod loads beside the old one, takes traffic once ready, and the old one drains before it
stops. The runbook writes stack config, patches the pod template with exactly what the program
renders from the edited config (so `pulumi preview` agrees afterwards), and waits for the
rollout to finish; rollback patches the old template back.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from rich.markup import escape

from infra.spec.model import Platform
from infra.targets.k8s.objects import service_labels
from infra.targets.k8s.pods import eks_plan, pod_template
from runbooks.framework import Run, RunbookError, Step
from runbooks.reload.settings import Change

POLL_S = 2.0


def template(platform: Platform, service: str) -> dict[str, Any]:
    """The pod template the EKS program renders for `service` of `platform`."""
    svc = platform.service(service)
    return pod_template(platform, svc, eks_plan(platform, svc), service_labels(platform, svc))


def patch_body(platform: Platform, service: str) -> dict[str, Any]:
    return {"spec": {"template": template(platform, service)}}


def rollout_done(deployment: Any) -> tuple[bool, str]:
    """(finished, what it waits for), as `kubectl rollout status` decides it."""
    spec, status, meta = deployment.spec, deployment.status, deployment.metadata
    want = spec.replicas or 0
    if (status.observed_generation or 0) < (meta.generation or 0):
        return False, "the controller has not seen the new template yet"
    if (status.updated_replicas or 0) < want:
        return False, f"{status.updated_replicas or 0} of {want} pods updated"
    if (status.replicas or 0) > (status.updated_replicas or 0):
        return False, f"{(status.replicas or 0) - (status.updated_replicas or 0)} old pod(s) still terminating"
    if (status.available_replicas or 0) < want:
        return False, f"{status.available_replicas or 0} of {want} updated pods available"
    return True, "rolled out"


def wait_rollout(apps: Any, name: str, namespace: str, timeout_s: float, progress: Any = None) -> float:
    t0 = time.monotonic()
    while True:
        done, why = rollout_done(apps.read_namespaced_deployment(name, namespace))
        if done:
            return time.monotonic() - t0
        if time.monotonic() - t0 > timeout_s:
            raise RunbookError(f"rollout of {name} in {namespace} not finished after {timeout_s:g} s: {why}")
        if progress is not None:
            progress(why)
        time.sleep(POLL_S)


def roll_back_to(platform: Platform, undo: dict[str, Any], apps: Any = None) -> None:
    """Patch the Deployment back to `undo["patch"]` (the old template) and wait for its rollout."""
    if apps is None:
        from runbooks.targets.k8s_target import KubernetesTarget

        apps = KubernetesTarget(platform).apps
    apps.patch_namespaced_deployment(undo["service"], undo["namespace"], undo["patch"])
    wait_rollout(apps, undo["service"], undo["namespace"], undo["timeout_s"])


def _timeout(change: Change) -> float:
    svc = change.new.service(change.service.name)
    conf = change.new.reload
    return (conf.load_timeout_s or svc.health.ready_within_s) + change.new.eks.inference.termination_grace_s + 60


@dataclass
class KubeReload:
    """What the steps of one EKS reload share: the apps/v1 client, made on first use."""

    apps: Any = None


def steps(change: Change, apps: Any = None) -> tuple[Step, ...]:
    """Preflight, config, rollout, verify; `apps` (an AppsV1Api) is made from kubeconfig when None."""
    name = change.service.name

    def _apps(run: Run) -> Any:
        state = run.state_as(KubeReload)
        if state.apps is None:
            if apps is not None:
                state.apps = apps
            else:
                from runbooks.targets.k8s_target import KubernetesTarget

                state.apps = KubernetesTarget(change.old).apps
        return state.apps

    def namespace() -> str:
        return change.old.eks.namespaces.inference

    def preflight(run: Run) -> dict[str, Any]:
        dep = _apps(run).read_namespaced_deployment(name, namespace())
        done, why = rollout_done(dep)
        if not done:
            raise RunbookError(f"deployment {name} is mid-rollout ({why}); wait for it first")
        run.log(escape(change.diff.rstrip()) or f"[dim]no stack config change: a rolling restart of {name}[/]")
        return {"replicas": dep.spec.replicas, "config_diff": change.diff}

    def write_config(run: Run) -> dict[str, Any]:
        if change.edit.changes:
            change.edit.apply(run)
        return {"changed": bool(change.edit.changes)}

    def rollout(run: Run) -> dict[str, Any]:
        api = _apps(run)
        run.set_phase("switching", 50)
        body = patch_body(change.new, name)
        if not change.edit.changes:
            from datetime import UTC, datetime

            stamp = datetime.now(UTC).isoformat(timespec="seconds")
            body["spec"]["template"].setdefault("metadata", {}).setdefault("annotations", {})[
                "kubectl.kubernetes.io/restartedAt"
            ] = stamp

        old = patch_body(change.old, name)
        undo: dict[str, Any] = {"service": name, "namespace": namespace(), "patch": old, "timeout_s": _timeout(change)}
        # Durable (written before the patch): if the runner dies mid-rollout, its guard (or
        # runbook.recover) puts the old template back; deadline: the rollout's own wait, twice.
        run.on_rollback(
            f"roll {name} back to the old template",
            lambda: roll_back_to(change.old, undo, api),
            durable=("roll-back", undo),
            deadline_s=_timeout(change) * 2,
        )
        api.patch_namespaced_deployment(name, namespace(), body)
        took = wait_rollout(api, name, namespace(), _timeout(change), run.progress.update)
        run.measure("rollout_s", round(took, 3))
        return {"rollout_s": round(took, 3)}

    def verify(run: Run) -> dict[str, Any]:
        dep = _apps(run).read_namespaced_deployment(name, namespace())
        args = dep.spec.template.spec.containers[0].args
        want = template(change.new, name)["spec"]["containers"][0].get("args")
        if list(args or []) != list(want or []):
            raise RunbookError(f"deployment {name} runs {args}, not {want}")
        run.set_phase("completed", 100)
        return {"args": args}

    return (
        Step("preflight", preflight, probe=True, summary=f"deployment {name} rolled out; config diff"),
        Step("write stack config", write_config, destructive=True, summary="the new values into stack config"),
        Step("rollout", rollout, summary="patch the pod template as the EKS program renders it; wait for rollout"),
        Step("verify", verify, probe=True, summary="the deployment runs the planned arguments"),
    )
