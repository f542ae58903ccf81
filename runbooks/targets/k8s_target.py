"""The same Target interface on Kubernetes (the EKS stack), through the kubernetes client.

Each service is a Deployment or StatefulSet named after it. stop = scale to 0 (the replica
count before is kept in an annotation, so start puts it back), restart = rollout restart (the
`kubectl.kubernetes.io/restartedAt` template annotation), kill = delete the pods, pause = SIGSTOP
to PID 1 through exec (a hung server, as far as Kubernetes can show one), hold = stop and wait until
the pods are gone (see `hold`). Pods are found with the workload's own selector, so the labels are
whatever the EKS program put there.
"""

from __future__ import annotations

import contextlib
import os
import time
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from infra.spec.model import Platform
from runbooks.targets.base import ExecResult, Health, ServiceState, Status, TargetError, TargetUnreachable

if TYPE_CHECKING:
    from kubernetes.client import ApiClient

REPLICAS_ANNOTATION = "inferops.io/replicas-before-stop"
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
DEFAULT_GRACE_S = 30  # a pod's terminationGracePeriodSeconds when its template sets none
POLL_S = 0.2


class WorkloadMissing(TargetError):
    """The namespace has no Deployment or StatefulSet of the service (the API server said 404)."""


class KubernetesTarget:
    def __init__(
        self,
        platform: Platform,
        namespace: str | None = None,
        api_client: ApiClient | None = None,
        context: str | None = None,
    ) -> None:
        self.platform = platform
        # The EKS program deploys the services into eks.namespaces.inference.
        self.namespace = namespace or platform.eks.namespaces.inference
        self.context = context or platform.eks.context or None
        if api_client is not None:
            self.__dict__["api"] = api_client

    @property
    def where(self) -> str:
        return f"Kubernetes namespace {self.namespace!r}" + (f" (context {self.context})" if self.context else "")

    @cached_property
    def api(self) -> ApiClient:
        from kubernetes import client, config

        try:
            config.load_kube_config(config_file=os.path.expanduser(self.platform.eks.kubeconfig), context=self.context)
        except Exception:
            try:
                config.load_incluster_config()
            except Exception as err:
                raise TargetError(f"no Kubernetes credentials for {self.where}: {err}") from None
        return client.ApiClient()

    @cached_property
    def apps(self) -> Any:
        from kubernetes import client

        return client.AppsV1Api(self.api)

    @cached_property
    def core(self) -> Any:
        from kubernetes import client

        return client.CoreV1Api(self.api)

    def _call(self, what: str, fn: Any, *args: Any, raw: bool = False, **kwargs: Any) -> Any:
        """fn(*args, **kwargs); an unreachable API server is a TargetError, and so is an API error
        unless `raw` (the caller looks at its status)."""
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        try:
            return fn(*args, **kwargs)
        except ApiException as err:
            if raw:
                raise
            raise TargetError(f"{what} in {self.where}: {err.status} {err.reason}") from None
        except (HTTPError, OSError) as err:
            raise TargetUnreachable(f"{what}: {self.where} does not answer: {err}") from None

    def ping(self) -> None:
        self._call("list workloads", self.apps.list_namespaced_deployment, self.namespace, limit=1)

    def workload(self, service: str) -> tuple[str, Any]:
        """('deployment'|'statefulset', object) of the service; WorkloadMissing when neither exists."""
        from kubernetes.client.exceptions import ApiException

        self.platform.service(service)
        for kind, read in (
            ("deployment", self.apps.read_namespaced_deployment),
            ("statefulset", self.apps.read_namespaced_stateful_set),
        ):
            try:
                return kind, self._call(f"read {kind} {service}", read, service, self.namespace, raw=True)
            except ApiException as err:
                if err.status != 404:
                    raise TargetError(f"read {kind} {service} in {self.where}: {err.status} {err.reason}") from None
        raise WorkloadMissing(f"no Deployment or StatefulSet {service!r} in {self.where}; is the stack deployed?")

    def _patch(self, service: str, body: dict[str, Any]) -> None:
        kind, _ = self.workload(service)
        fn = self.apps.patch_namespaced_deployment if kind == "deployment" else self.apps.patch_namespaced_stateful_set
        self._call(f"patch {kind} {service}", fn, service, self.namespace, body)

    def _scale(self, service: str, replicas: int) -> None:
        kind, _ = self.workload(service)
        fn = (
            self.apps.patch_namespaced_deployment_scale
            if kind == "deployment"
            else self.apps.patch_namespaced_stateful_set_scale
        )
        self._call(f"scale {kind} {service}", fn, service, self.namespace, {"spec": {"replicas": replicas}})

    def pods(self, service: str) -> list[Any]:
        """The pods of the service's workload (its selector), in any phase."""
        _, wl = self.workload(service)
        labels = (wl.spec.selector.match_labels or {}) if wl.spec and wl.spec.selector else {}
        selector = ",".join(f"{k}={v}" for k, v in labels.items())
        pods = self._call(
            f"list pods of {service}", self.core.list_namespaced_pod, self.namespace, label_selector=selector
        )
        return list(pods.items)

    def _pod(self, service: str) -> str:
        running = [p for p in self.pods(service) if p.status and p.status.phase == "Running"]
        if not running:
            raise TargetError(f"no running pod of {service} in {self.where}")
        return running[0].metadata.name

    def state(self, service: str) -> ServiceState:
        try:
            _, wl = self.workload(service)
        except WorkloadMissing:  # not any TargetError: a 401 or a cluster that is down is no answer
            return ServiceState(service, "missing")
        want = wl.spec.replicas or 0
        ready = (wl.status.ready_replicas or 0) if wl.status else 0
        if want == 0:
            return ServiceState(service, "stopped", instance=wl.metadata.name)
        status: Status = "running" if ready >= 1 else "starting"
        health: Health = "healthy" if ready >= want else ("starting" if ready == 0 else "unhealthy")
        return ServiceState(service, status, health=health, instance=wl.metadata.name)

    def stop(self, service: str, timeout_s: float = 10) -> None:
        _, wl = self.workload(service)
        current = wl.spec.replicas or 0
        if current:
            self._patch(service, {"metadata": {"annotations": {REPLICAS_ANNOTATION: str(current)}}})
        self._scale(service, 0)

    def start(self, service: str) -> None:
        """Scale back to the count kept by `stop` (else the stack's), then drop that annotation, so
        a later `kubectl scale --replicas=0` is not undone with a stale count."""
        _, wl = self.workload(service)
        before = (wl.metadata.annotations or {}).get(REPLICAS_ANNOTATION)
        if not wl.spec.replicas:
            self._scale(service, int(before) if before else self.platform.service(service).replicas)
        if before is not None:
            self._patch(service, {"metadata": {"annotations": {REPLICAS_ANNOTATION: None}}})

    def hold(self, service: str, timeout_s: float | None = None) -> None:
        """Scale to 0 (`stop`, the count kept in the annotation) and wait until no pod is left.

        Not `pause`: a SIGSTOPped pod fails its liveness probe, the kubelet restarts the container
        in the middle of a restore and it starts writing again. Scaling to 0 is a state Kubernetes
        keeps. The wait matters as much: a terminating pod still serves (and writes) for up to its
        grace period. Default bound: the template's terminationGracePeriodSeconds + 15 s.
        """
        _, wl = self.workload(service)
        grace = wl.spec.template.spec.termination_grace_period_seconds if wl.spec.template.spec else None
        budget = timeout_s if timeout_s is not None else (grace if grace is not None else DEFAULT_GRACE_S) + 15
        self.stop(service)
        deadline = time.monotonic() + budget
        while left := self.pods(service):
            if time.monotonic() > deadline:
                self.start(service)  # a hold that fails leaves the service as it was
                names = ", ".join(p.metadata.name for p in left)
                raise TargetError(
                    f"{service}: pods {names} still there {budget:g} s after scaling to 0 in {self.where}; scaled back"
                )
            time.sleep(POLL_S)

    def release(self, service: str) -> None:
        """Undo `hold`: scale back to the replicas it kept (`start`)."""
        self.start(service)

    def restart(self, service: str, timeout_s: float = 10) -> None:
        now = datetime.now(UTC).isoformat(timespec="seconds")
        self._patch(service, {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: now}}}}})

    def kill(self, service: str, signal: str = "SIGKILL") -> None:
        for pod in self.pods(service):
            grace = 0 if signal == "SIGKILL" else None
            self._call(
                f"delete pod {pod.metadata.name}",
                self.core.delete_namespaced_pod,
                pod.metadata.name,
                self.namespace,
                grace_period_seconds=grace,
            )

    def pause(self, service: str) -> None:
        """SIGSTOP in every pod, or in none: a pod that refuses resumes the ones stopped before it."""
        stopped: list[str] = []
        for pod in self._pod_names(service):
            error = self._signal_pid1(pod, "STOP")
            if error:
                left = [e for e in (self._signal_pid1(p, "CONT") for p in stopped) if e]
                raise TargetError("; ".join([error, *(f"and could not resume: {e}" for e in left)]))
            stopped.append(pod)

    def unpause(self, service: str) -> None:
        """SIGCONT in every pod, even past one that refuses: each pod left stopped is named."""
        errors = [e for e in (self._signal_pid1(p, "CONT") for p in self._pod_names(service)) if e]
        if errors:
            raise TargetError("; ".join(errors))

    def _pod_names(self, service: str) -> list[str]:
        return [pod.metadata.name for pod in self.pods(service)]

    def _signal_pid1(self, pod: str, sig: str) -> str | None:
        """Signal the pod's PID 1; the error, if it failed."""
        try:
            result = self.exec_pod(pod, ["kill", f"-{sig}", "1"])
        except TargetError as err:
            return str(err)
        return None if result.exit_code == 0 else f"kill -{sig} 1 in {pod}: {result.output.strip()}"

    def logs(self, service: str, tail: int = 100, since: float | None = None) -> str:
        kwargs: dict[str, Any] = {"tail_lines": tail}
        if since is not None:
            kwargs["since_seconds"] = max(1, int(datetime.now(UTC).timestamp() - since))
        pod = self._pod(service)
        return self._call(f"logs of {pod}", self.core.read_namespaced_pod_log, pod, self.namespace, **kwargs)

    def exec(self, service: str, command: list[str]) -> ExecResult:
        return self.exec_pod(self._pod(service), command)

    def exec_pod(self, pod: str, command: list[str]) -> ExecResult:
        """Run `command` in the pod named `pod` (`exec` picks a running pod of a service)."""
        from kubernetes.stream import stream

        resp = self._call(
            f"exec in {pod}",
            stream,
            self.core.connect_get_namespaced_pod_exec,
            pod,
            self.namespace,
            command=command,
            stderr=True,
            stdout=True,
            stdin=False,
            tty=False,
            _preload_content=False,
        )
        resp.run_forever(timeout=60)
        # timeout=0: what has arrived; the defaults (None) block for more if the command outlived run_forever
        output = resp.read_stdout(timeout=0) + resp.read_stderr(timeout=0)
        # Not resp.returncode: it reads int(details.causes[0].message) of any Status that is not
        # Success, and an exec that never started (containerd: executable not found) is an
        # InternalError whose cause is the error text: a ValueError instead of an answer.
        finished = not resp.is_open()
        text = resp.read_channel(3) if finished else ""
        with contextlib.suppress(Exception):
            resp.close()  # a no-op once the server has closed: the client's answer to it marks it closed
            resp.sock.shutdown()  # so the TCP socket is closed here, not whenever it is collected
        return ExecResult(self._exit_code(pod, command, text) if finished else -1, output)

    def _exit_code(self, pod: str, command: list[str], text: str) -> int:
        """The exit code in the v1 Status the API server ends an exec with (channel 3); a Status
        without one (the command did not run) is a TargetError with the API server's message."""
        import json

        try:
            status = json.loads(text) if text else {}
        except ValueError:
            status = {"message": text}
        if status.get("status") == "Success":
            return 0
        if status.get("reason") == "NonZeroExitCode":
            for cause in (status.get("details") or {}).get("causes") or []:
                if cause.get("reason") == "ExitCode" and str(cause.get("message", "")).lstrip("-").isdigit():
                    return int(cause["message"])
        why = status.get("message") or "the connection closed without an exit status"
        raise TargetError(f"exec {' '.join(command)} in {pod} ({self.where}): {why}")

    def inspect(self, service: str) -> dict[str, Any]:
        kind, wl = self.workload(service)
        return {"kind": kind, **self.api.sanitize_for_serialization(wl)}
