"""One container plan per service: what both Docker renderers (pulumi-docker, compose) deploy.

Both renderers map these plans field by field, so the compose export and the Pulumi program
cannot drift apart.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from infra.configfile import ConfigFile
from infra.render.files import config_files
from infra.render.llama import llama_args
from infra.render.watch import WATCH_SERVICE, watch_command, watch_secret_env
from infra.spec.model import HealthCheck, Platform, Service, Volume

LABEL_PREFIX = "io.inferops"
CONFIG_HASH_LABEL = f"{LABEL_PREFIX}.config-hash"


@dataclass(frozen=True)
class PortBinding:
    host_ip: str
    host_port: int
    container_port: int


@dataclass(frozen=True)
class Healthcheck:
    test: tuple[str, ...]
    interval: str
    timeout: str
    retries: int
    start_period: str


@dataclass(frozen=True)
class ContainerPlan:
    name: str
    image: str
    entrypoint: tuple[str, ...] | None
    command: tuple[str, ...]
    env: dict[str, str]
    secret_env: dict[str, str]  # environment variable -> secret config key
    ports: tuple[PortBinding, ...]
    healthcheck: Healthcheck
    wait_timeout_s: int
    depends_on: tuple[str, ...]
    restart: str
    gpus: int
    volumes: tuple[Volume, ...]
    files: tuple[ConfigFile, ...]
    memory_mib: int | None
    cpus: float | None
    labels: dict[str, str]


def go_duration(seconds: float) -> str:
    """Durations as Docker reads them back ("1m0s", "500ms"), so previews do not diff."""
    ms = round(seconds * 1000)
    if ms % 1000:
        return f"{ms}ms"
    s = ms // 1000
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    if h:
        return f"{h}h{m}m{sec}s"
    if m:
        return f"{m}m{sec}s"
    return f"{sec}s"


def probe_command(health: HealthCheck, port: int) -> tuple[str, ...]:
    """The in-container health test, with whatever tool the image has."""
    url = f"http://127.0.0.1:{port}{health.path}"
    code = health.expect_status
    if health.tool == "curl":
        return ("CMD", "curl", "-fsS", "-o", "/dev/null", "--max-time", str(int(health.timeout_s)), url)
    if health.tool == "wget":
        return ("CMD", "wget", "-q", "-O", "/dev/null", "-T", str(int(health.timeout_s)), url)
    if health.tool == "python":
        script = (
            "import sys,urllib.request as u;"
            f"sys.exit(0 if u.urlopen('{url}',timeout={health.timeout_s}).status=={code} else 1)"
        )
        return ("CMD", "python3", "-c", script)
    # bash-tcp: a real HTTP request over bash's /dev/tcp, for images with neither curl nor wget
    script = (
        f"exec 3<>/dev/tcp/127.0.0.1/{port} && "
        f"printf 'GET {health.path} HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && "
        f"read -r status <&3 && [[ $status == *' {code} '* ]]"
    )
    return ("CMD", "bash", "-c", script)


def labels(platform: Platform, svc: Service) -> dict[str, str]:
    return {
        f"{LABEL_PREFIX}.stack": platform.stack,
        f"{LABEL_PREFIX}.service": svc.name,
        f"{LABEL_PREFIX}.role": svc.role.value,
    }


def config_hash(files: tuple[ConfigFile, ...]) -> str:
    """A digest of a container's mounted config files, carried as a label.

    Compose only recreates a container when its service definition changes, and a bind-mounted
    file replaced on disk keeps the old inode inside the running container: without this label
    a changed gateway or Prometheus config would never reach the running process. Secret
    values are left out (their key names stand in), so the label itself holds no secret.
    """
    digest = hashlib.sha256()
    for f in sorted(files, key=lambda f: f.path):
        digest.update(f.path.encode() + b"\0")
        digest.update(f.content({k: f"<{k}>" for k in f.secret_keys}).encode() + b"\0")
    return digest.hexdigest()[:16]


def container_plan(platform: Platform, svc: Service, files: list[ConfigFile] | None = None) -> ContainerPlan:
    """The plan of one service; pass `files` (all of the stack's) when planning many services."""
    files = config_files(platform) if files is None else files
    mounted = tuple(f for f in files if f.service == svc.name)
    command = llama_args(svc) if svc.llama is not None else svc.command
    secret_env = dict(svc.secret_env)
    if svc.name == WATCH_SERVICE:
        command, secret_env = watch_command(platform), {**secret_env, **watch_secret_env(platform)}
    ports = (PortBinding(platform.bind_address, svc.published_port, svc.port),) if svc.publish else ()
    hc = svc.health
    return ContainerPlan(
        name=svc.name,
        image=svc.image,
        entrypoint=svc.entrypoint,
        command=tuple(command),
        env=dict(svc.env),
        secret_env=secret_env,
        ports=ports,
        healthcheck=Healthcheck(
            test=probe_command(hc, svc.health_port),
            interval=go_duration(hc.interval_s),
            timeout=go_duration(hc.timeout_s),
            retries=hc.retries,
            start_period=go_duration(hc.start_period_s),
        ),
        wait_timeout_s=int(hc.ready_within_s) + 30,
        depends_on=svc.depends_on,
        restart=svc.restart,
        gpus=svc.gpu.count,
        volumes=svc.volumes,
        files=mounted,
        memory_mib=svc.resources.memory_mib,
        cpus=svc.resources.cpus,
        labels={**labels(platform, svc), **({CONFIG_HASH_LABEL: config_hash(mounted)} if mounted else {})},
    )


def container_plans(platform: Platform) -> list[ContainerPlan]:
    """Plans for every enabled service, dependencies first."""
    order = [name for wave in platform.start_order() for name in wave]
    files = config_files(platform)
    return [container_plan(platform, platform.services[name], files) for name in order]


def named_volumes(plans: list[ContainerPlan]) -> list[str]:
    seen: list[str] = []
    for plan in plans:
        for vol in plan.volumes:
            if not vol.host_path and vol.source not in seen:
                seen.append(vol.source)
    return seen
