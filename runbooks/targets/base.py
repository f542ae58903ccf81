"""How a runbook acts on a service, whatever runs it: the Target interface and its state types."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Protocol, runtime_checkable

from infra.errors import Failed, Missing

Status = Literal["running", "paused", "restarting", "exited", "created", "stopped", "missing", "starting"]
Health = Literal["healthy", "unhealthy", "starting", "none"]


class TargetError(Failed, RuntimeError):
    """The target could not do what was asked (message names service, stack and where it runs)."""


class TargetUnreachable(TargetError, Missing):
    """The engine or cluster does not answer at all (exit 3: nothing was done)."""


class Unsupported(TargetError):
    """This target has no such operation (e.g. pause on a target without a freezer)."""


@dataclass(frozen=True)
class ServiceState:
    service: str
    status: Status
    health: Health = "none"
    instance: str | None = None  # container name / pod name
    exit_code: int | None = None
    oom_killed: bool = False
    restart_count: int = 0
    started_at: str | None = None

    @property
    def running(self) -> bool:
        return self.status == "running"

    @property
    def serving(self) -> bool:
        """Running, and the engine's health check passes (or it has none)."""
        return self.running and self.health in ("healthy", "none")


@dataclass(frozen=True)
class ExecResult:
    exit_code: int
    output: str


@runtime_checkable
class Target(Protocol):
    """What every runbook may do to a service. Implementations: DockerTarget, KubernetesTarget."""

    @property
    def where(self) -> str:
        """Where the services run, for messages (`unix:///var/run/docker.sock`, a kube context)."""
        ...

    def ping(self) -> None:
        """Raise TargetError naming the engine/cluster when it does not answer."""

    def state(self, service: str) -> ServiceState: ...

    def stop(self, service: str, timeout_s: float = 10) -> None: ...

    def start(self, service: str) -> None: ...

    def restart(self, service: str, timeout_s: float = 10) -> None: ...

    def kill(self, service: str, signal: str = "SIGKILL") -> None: ...

    def pause(self, service: str) -> None: ...

    def unpause(self, service: str) -> None: ...

    def hold(self, service: str) -> None:
        """Stop the service taking work, reversibly, the cheapest way this target allows (a restore
        holds Qdrant's writer). Not always `pause`: on Kubernetes a frozen pod is restarted by its
        liveness probe and writes again, so each target says what holding means there. A hold that
        raises TargetError leaves the service as it was."""

    def release(self, service: str) -> None:
        """Undo `hold`: the service takes work again (as many instances as before the hold)."""

    def logs(self, service: str, tail: int = 100, since: float | None = None) -> str: ...

    def exec(self, service: str, command: list[str]) -> ExecResult: ...

    def inspect(self, service: str) -> dict[str, Any]: ...
