"""A real Docker engine and a tiny image built here in a second: busybox-static imported from a tar.

Services are `busybox httpd` containers carrying the stack/service labels the renderers put on
real containers (infra/render/containers.py), published on free host ports, with a Docker
healthcheck like the real ones. Tests skip, with the reason, when no engine answers.
"""

from __future__ import annotations

import contextlib
import io
import shutil
import tarfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from infra.render.containers import labels
from infra.spec.model import Platform
from tests.doubles.serving import free_port

IMAGE = "inferops-test/busybox:1"
APPLETS = ("sh", "httpd", "sleep", "echo", "kill", "mkdir", "wget", "cat", "true")
BUSYBOX = Path("/bin/busybox")


def docker_or_skip() -> Any:
    """A client of the engine; skip only when there is no engine to connect to (nothing at the
    socket or port): any other error, an engine that answers with one included, is the test's."""
    import docker

    try:
        client = docker.from_env(timeout=10)
        client.ping()
    except Exception as err:
        if not no_engine(err):
            raise
        pytest.skip(f"no Docker engine answers ({type(err).__name__}: {err}); start dockerd to run these tests")
    return client


def no_engine(err: BaseException) -> bool:
    """The client could not connect to the daemon: a requests ConnectionError (refused, no socket,
    connect timeout) is the error or its cause, as the docker SDK wraps it."""
    import requests

    seen: BaseException | None = err
    while seen is not None:
        if isinstance(seen, requests.exceptions.ConnectionError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def ensure_image(client: Any) -> str:
    import docker.errors

    try:
        client.images.get(IMAGE)
        return IMAGE
    except docker.errors.ImageNotFound:
        pass
    if not BUSYBOX.is_file() or shutil.which("busybox") is None:
        pytest.skip("busybox-static is not installed (apt-get install -y busybox-static)")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        tar.add(BUSYBOX, arcname="bin/busybox")
        for applet in APPLETS:
            link = tarfile.TarInfo(f"bin/{applet}")
            link.type, link.linkname = tarfile.SYMTYPE, "busybox"
            tar.addfile(link)
        for d in ("www", "tmp"):
            info = tarfile.TarInfo(d)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(info)
    client.api.import_image_from_data(buf.getvalue(), repository=IMAGE.split(":")[0], tag=IMAGE.split(":")[1])
    return IMAGE


def _script(healthy: bool) -> str:
    health = "echo ok > /www/health && " if healthy else ""
    return f"mkdir -p /www && {health}echo booted && exec httpd -f -p 8080 -h /www"


@contextmanager
def fake_stack(client: Any, base: Platform, services: list[str], unhealthy: tuple[str, ...] = ()) -> Iterator[Platform]:
    """Containers for `services` of `base` under a unique stack name; yields the platform pointing at them."""
    stack = f"unit-{uuid.uuid4().hex[:8]}"
    platform = base.model_copy(update={"stack": stack})
    created = []
    ports: dict[str, int] = {}
    try:
        for name in services:
            svc = platform.service(name)
            ports[name] = free_port()  # fixed, like the real stack's: a restart keeps the address
            c = client.containers.run(
                ensure_image(client),
                ["sh", "-c", _script(name not in unhealthy)],
                name=f"{stack}-{name}",
                labels=labels(platform, svc),
                ports={"8080/tcp": ("127.0.0.1", ports[name])},
                healthcheck={
                    "test": ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/health"],
                    "interval": 500_000_000,
                    "timeout": 1_000_000_000,
                    "retries": 2,
                },
                stop_signal="SIGKILL",
                detach=True,
            )
            created.append(c)
        services_ = {}
        for name, svc in platform.services.items():
            update: dict[str, Any] = {}
            if name in ports:
                health = svc.health.model_copy(
                    update={"path": "/health", "timeout_s": 1.0, "start_period_s": 2.0, "interval_s": 1.0, "retries": 2}
                )
                update = {"host_port": ports[name], "health": health}
            services_[name] = svc.model_copy(update=update)
        # No Alertmanager of its own: a run must not silence the one on the default port (a live
        # stack's, whose inference-chat alerts a restart here would otherwise have silenced).
        drills = platform.drills.model_copy(update={"silence": False})
        yield platform.model_copy(update={"services": services_, "drills": drills})
    finally:
        for c in created:
            with contextlib.suppress(Exception):
                c.remove(force=True)


@contextmanager
def scratch_network(client: Any, name: str) -> Iterator[Any]:
    """A bridge network that is gone afterwards with every container still on it, whatever the test
    left behind (a stand-in the runbook made, a container whose removal failed)."""
    net = client.networks.create(name)
    try:
        yield net
    finally:
        with contextlib.suppress(Exception):
            net.reload()
        for c in net.containers:
            with contextlib.suppress(Exception):
                c.remove(force=True)
        with contextlib.suppress(Exception):
            net.remove()
