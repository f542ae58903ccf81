"""Who creates the service's own container (name, published ports, labels) at the end of a reload.

The deployer of record must recognise it, so that the next deploy recreates nothing:
- a compose project (containers labelled `com.docker.compose.project`, as `invoke stack.up`
  deploys on a machine without the Pulumi CLI): compose itself creates it from the stack's
  exported compose file (`up --no-start --no-deps <service>`), so it carries the labels and
  `com.docker.compose.config-hash` that `docker compose up` compares;
- anything else: a clone of the old container's settings with the new command.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from infra.render.containers import container_plan
from infra.spec.model import Platform
from runbooks.framework.errors import RunbookError
from runbooks.reload import instances

if TYPE_CHECKING:
    from docker import DockerClient
    from docker.models.containers import Container

PROJECT_LABEL = "com.docker.compose.project"


@dataclass
class Placer:
    client: DockerClient
    old_attrs: dict[str, Any]  # `docker inspect` of the container the service had before the reload

    @property
    def compose_project(self) -> str | None:
        return (self.old_attrs["Config"].get("Labels") or {}).get(PROJECT_LABEL)

    @property
    def kind(self) -> str:
        return "compose" if self.compose_project else "clone"

    def create(self, platform: Platform, service: str) -> tuple[Container, list[str]]:
        """The service's canonical container for `platform`, created off the network; with its aliases."""
        if self.compose_project:
            container = self._compose_create(platform, service)
        else:
            command = container_plan(platform, platform.service(service)).command
            container = instances.clone(
                self.client, self.old_attrs, name=service, command=command, network=platform.network, canonical=True
            )
        names = instances.detach(self.client, container, platform.network) or [service]
        return container, names

    def _compose_create(self, platform: Platform, service: str) -> Container:
        import docker.errors

        from infra.live import compose

        if self.compose_project != platform.network:
            raise RunbookError(
                f"{service} belongs to compose project {self.compose_project!r}, "
                f"not {platform.network!r} (inferops:network): deploy with invoke stack.up first"
            )
        compose_file = compose.export(platform)
        done = compose.compose(compose_file, "up", "--no-start", "--no-deps", service, capture=True)
        if done.returncode != 0:
            raise RunbookError(f"docker compose could not create {service}: {(done.stderr or done.stdout)[-400:]}")
        try:
            return self.client.containers.get(service)
        except docker.errors.NotFound:
            raise RunbookError(f"docker compose created no container named {service}") from None

    def deploy_would_change(self, platform: Platform) -> list[str] | None:
        """What `docker compose up` would do besides leaving containers running (None: not compose)."""
        if not self.compose_project:
            return None
        from infra.live import compose

        compose_file = compose.export(platform)
        done = compose.compose(compose_file, "--dry-run", "up", "-d", capture=True)
        lines = (done.stdout or "") + (done.stderr or "")
        verbs = ("Recreate", "Creat", "Remov", "Stop")
        return [ln.strip() for ln in lines.splitlines() if "Container" in ln and any(v in ln for v in verbs)]
