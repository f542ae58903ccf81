"""The compose stack on a Docker engine (local socket or `ssh://host`), through the docker SDK.

Containers are found by the labels every renderer puts on them (`io.inferops.stack`,
`io.inferops.service`, see infra/render/containers.py), not by copied names; when several carry
a service's labels (a reload's second instance), the one named after the service is the service.
"""

from __future__ import annotations

import sys
import time
from functools import cached_property
from typing import TYPE_CHECKING, Any

from infra.render.containers import LABEL_PREFIX
from infra.spec.model import Platform
from runbooks.targets.base import ExecResult, ServiceState, TargetError, TargetUnreachable

if TYPE_CHECKING:
    from docker import DockerClient
    from docker.models.containers import Container


class DockerTarget:
    def __init__(self, platform: Platform, client: DockerClient | None = None) -> None:
        self.platform = platform
        if client is not None:
            self.__dict__["client"] = client

    @property
    def engine_host(self) -> str | None:
        """The engine as this process reaches it: inside the stack (the watch container), the
        host's own socket is mounted in, whatever `docker_host` says the operator uses."""
        return None if self.platform.vantage == "stack-network" else self.platform.docker_host

    @property
    def where(self) -> str:
        return self.engine_host or "the local Docker engine"

    @cached_property
    def client(self) -> DockerClient:
        """The engine's client; on this machine's own engine, one is started when none answers."""
        import docker.errors

        if self.engine_host is None and self.platform.vantage == "host":
            from infra.docker.daemon import ensure_engine

            ensure_engine(say=lambda text: print(text, file=sys.stderr))
        try:
            from infra.docker.daemon import client_for

            return client_for(self.engine_host)
        except docker.errors.DockerException as err:
            raise TargetUnreachable(f"cannot reach the Docker engine at {self.where}: {err}") from None

    def ping(self) -> None:
        import docker.errors

        try:
            self.client.ping()
        except (docker.errors.DockerException, OSError) as err:
            raise TargetUnreachable(f"the Docker engine at {self.where} does not answer: {err}") from None

    def _containers(self, service: str) -> list[Container]:
        labels = [f"{LABEL_PREFIX}.stack={self.platform.stack}", f"{LABEL_PREFIX}.service={service}"]
        return self.client.containers.list(all=True, filters={"label": labels})

    def container(self, service: str) -> Container:
        """The service's container; TargetError naming stack and engine when there is none."""
        self.platform.service(service)  # unknown service: KeyError naming the known ones
        found = self._containers(service)
        if not found:
            raise TargetError(
                f"no container of service {service!r} (stack {self.platform.stack!r}) on {self.where}; "
                "is the stack up? (invoke stack.up)"
            )
        named = [c for c in found if c.name == service]
        if named:
            return named[0]
        running = [c for c in found if c.status == "running"] or found
        return max(running, key=lambda c: c.attrs.get("State", {}).get("StartedAt", ""))

    def state(self, service: str) -> ServiceState:
        try:
            c = self.container(service)
        except TargetError:
            return ServiceState(service, "missing")
        c.reload()
        st = c.attrs.get("State", {})
        return ServiceState(
            service=service,
            status=st.get("Status", c.status),
            health=(st.get("Health") or {}).get("Status", "none"),
            instance=c.name,
            exit_code=st.get("ExitCode"),
            oom_killed=bool(st.get("OOMKilled")),
            restart_count=int(c.attrs.get("RestartCount", 0)),
            started_at=st.get("StartedAt"),
        )

    def _do(self, service: str, verb: str, fn: Any, *args: Any, **kwargs: Any) -> None:
        import docker.errors

        c = self.container(service)
        try:
            fn(c, *args, **kwargs)
        except docker.errors.APIError as err:
            raise TargetError(f"{verb} {service} on {self.where}: {err.explanation or err}") from None

    def stop(self, service: str, timeout_s: float = 10) -> None:
        self._do(service, "stop", lambda c: c.stop(timeout=int(timeout_s)))

    def start(self, service: str) -> None:
        """Start (or unpause) the service's container; a running one is left as it is."""
        c = self.container(service)
        c.reload()
        if c.status == "paused":
            self._do(service, "unpause", lambda c: c.unpause())
        elif c.status != "running":
            self._do(service, "start", lambda c: c.start())

    def restart(self, service: str, timeout_s: float = 10) -> None:
        self._do(service, "restart", lambda c: c.restart(timeout=int(timeout_s)))

    def kill(self, service: str, signal: str = "SIGKILL") -> None:
        self._do(service, "kill", lambda c: c.kill(signal=signal))
        if signal == "SIGKILL":
            self._wait_status(service, ("exited", "dead"), 10)

    def pause(self, service: str) -> None:
        self._do(service, "pause", lambda c: c.pause())

    def unpause(self, service: str) -> None:
        c = self.container(service)
        c.reload()
        if c.status == "paused":
            self._do(service, "unpause", lambda c: c.unpause())

    def hold(self, service: str) -> None:
        """docker pause: the freezer stops every process at once and nothing restarts a paused
        container, so the service holds exactly as it was (connections included) until release."""
        self.pause(service)

    def release(self, service: str) -> None:
        self.unpause(service)

    def logs(self, service: str, tail: int = 100, since: float | None = None) -> str:
        c = self.container(service)
        kwargs: dict[str, Any] = {"tail": tail, "stdout": True, "stderr": True}
        if since is not None:
            kwargs["since"] = int(since)
        return c.logs(**kwargs).decode(errors="replace")

    def exec(self, service: str, command: list[str]) -> ExecResult:
        import docker.errors

        c = self.container(service)
        try:
            code, out = c.exec_run(command, demux=False)
        except docker.errors.APIError as err:
            raise TargetError(f"exec in {service} on {self.where}: {err.explanation or err}") from None
        return ExecResult(int(code if code is not None else -1), (out or b"").decode(errors="replace"))

    def inspect(self, service: str) -> dict[str, Any]:
        c = self.container(service)
        c.reload()
        return dict(c.attrs)

    def _wait_status(self, service: str, statuses: tuple[str, ...], timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.state(service).status in statuses:
                return
            time.sleep(0.05)
        raise TargetError(f"{service} did not reach {'/'.join(statuses)} within {timeout_s:g} s on {self.where}")
