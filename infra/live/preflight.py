"""Checks before a bring-up that change nothing: images present, published ports free.

Each problem names the service and the fix (the build command, the port key to change), and
all of them are reported together, before any container is created.
"""

from __future__ import annotations

import errno
import socket
from dataclasses import dataclass
from typing import Any

from infra.errors import BadInput
from infra.images.catalog import IMAGES, REPO_PREFIX
from infra.render.containers import LABEL_PREFIX
from infra.spec.model import Platform, Service


@dataclass(frozen=True)
class PreflightProblem:
    """One reason a stack cannot come up, by service (not a config key: infra.spec.errors.Problem)."""

    service: str
    message: str

    def __str__(self) -> str:
        return f"{self.service}: {self.message}"


class PreflightFailed(BadInput, RuntimeError):
    """One or more problems; nothing was changed."""

    def __init__(self, stack: str, problems: list[PreflightProblem]) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"stack {stack!r} cannot come up, nothing was changed:\n{lines}")


def build_hint(image: str) -> str:
    """How to get a missing image: the build command for ours, a pull for anything else."""
    repo = image.rsplit(":", 1)[0] if ":" in image.rsplit("/", 1)[-1] else image
    name = repo.removeprefix(f"{REPO_PREFIX}/")
    if repo.startswith(f"{REPO_PREFIX}/") and name in IMAGES:
        return f"build it with `invoke images.build --only {name}`"
    return f"pull it (`docker pull {image}`) or point inferops:images at an image that exists here"


def missing_images(platform: Platform, client: Any) -> list[PreflightProblem]:
    import docker.errors

    problems = []
    for svc in platform.enabled():
        try:
            client.images.get(svc.image)
        except docker.errors.ImageNotFound:
            if not platform.pull_images:
                problems.append(PreflightProblem(svc.name, f"image {svc.image} is missing; {build_hint(svc.image)}"))
    return problems


def port_taken(host: str, port: int) -> bool:
    """True when something already listens on host:port (a bind attempt, released at once)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as err:
            if err.errno in (errno.EADDRINUSE, errno.EACCES):
                return True
            raise
    return False


def own_ports(platform: Platform, client: Any) -> set[int]:
    """Host ports published by this stack's own running containers (an `up` on an up stack is fine)."""
    ports: set[int] = set()
    for container in client.containers.list(filters={"label": f"{LABEL_PREFIX}.stack={platform.stack}"}):
        for bindings in (container.attrs.get("NetworkSettings", {}).get("Ports") or {}).values():
            ports.update(int(b["HostPort"]) for b in bindings or [])
    return ports


def _port_key(svc: Service) -> str:
    return f"inferops:services.{svc.name}.host_port"


def taken_ports(platform: Platform, client: Any) -> list[PreflightProblem]:
    ours = own_ports(platform, client)
    problems = []
    for svc in platform.enabled():
        port = svc.published_port
        if svc.publish and port not in ours and port_taken(platform.bind_address, port):
            problems.append(
                PreflightProblem(
                    svc.name,
                    f"port {platform.bind_address}:{port} is already taken by another process; "
                    f"stop it or set {_port_key(svc)} to a free port",
                )
            )
    return problems


def preflight(platform: Platform, client: Any) -> None:
    """Raise PreflightFailed listing every problem, or return when the stack can come up."""
    problems = missing_images(platform, client) + taken_ports(platform, client)
    if problems:
        raise PreflightFailed(platform.stack, problems)
