"""Docker Compose v2 export of a stack, from the same container plans as the Pulumi program.

For operators who run `docker compose` by hand (the seeds do) and for the live CI stack. Config
files are written beside the compose file and bind-mounted read-only; files holding secrets, and
the gateway's secret environment, are written with mode 0600 and never printed.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from infra.render.containers import ContainerPlan, container_plans, named_volumes
from infra.secrets_local import local_secret
from infra.spec.model import Platform

COMPOSE_FILE = "compose.yaml"
SecretLookup = Callable[[str], str]


def compose_project(platform: Platform) -> dict[str, Any]:
    """The compose document (without writing any file)."""
    plans = container_plans(platform)
    return {
        "name": platform.network,
        "services": {p.name: _service(p) for p in plans},
        "networks": {"default": {"name": platform.network}},
        "volumes": {v: {"name": f"{platform.network}-{v}"} for v in named_volumes(plans)},
    }


def mounted_path(plan: ContainerPlan, container_path: str) -> str:
    """Where a config file lives relative to the compose file."""
    return f"config/{plan.name}{container_path}"


def secret_env_file(plan: ContainerPlan) -> str:
    return f"secrets/{plan.name}.env"


def escape(value: str) -> str:
    """Compose interpolates `$VAR`; a literal dollar (bash probes use `$status`) is written `$$`."""
    return value.replace("$", "$$")


def _service(plan: ContainerPlan) -> dict[str, Any]:
    hc = plan.healthcheck
    svc: dict[str, Any] = {
        "image": plan.image,
        "container_name": plan.name,
        "command": [escape(a) for a in plan.command],
        "environment": {k: escape(v) for k, v in sorted(plan.env.items())},
        "labels": plan.labels,
        "restart": plan.restart,
        "healthcheck": {
            "test": [escape(t) for t in hc.test],
            "interval": hc.interval,
            "timeout": hc.timeout,
            "retries": hc.retries,
            "start_period": hc.start_period,
        },
        "ports": [f"{p.host_ip}:{p.host_port}:{p.container_port}" for p in plan.ports],
        "volumes": [_volume(v) for v in plan.volumes]
        + [f"./{mounted_path(plan, f.path)}:{f.path}:ro" for f in plan.files],
        "networks": {"default": {"aliases": [plan.name]}},
    }
    if plan.entrypoint:
        svc["entrypoint"] = [escape(a) for a in plan.entrypoint]
    if plan.secret_env:
        svc["env_file"] = [secret_env_file(plan)]
    if plan.depends_on:
        svc["depends_on"] = {d: {"condition": "service_healthy"} for d in plan.depends_on}
    limits: dict[str, Any] = {}
    if plan.memory_mib:
        limits["memory"] = f"{plan.memory_mib}M"
    if plan.cpus:
        limits["cpus"] = str(plan.cpus)
    resources: dict[str, Any] = {}
    if limits:
        resources["limits"] = limits
    if plan.gpus:
        resources["reservations"] = {"devices": [{"driver": "nvidia", "count": plan.gpus, "capabilities": ["gpu"]}]}
    if resources:
        svc["deploy"] = {"resources": resources}
    if not svc["environment"]:
        del svc["environment"]
    if not svc["ports"]:
        del svc["ports"]
    return svc


def _volume(v: Any) -> str:
    return f"{v.source}:{v.target}" + (":ro" if v.read_only else "")


def write_compose(platform: Platform, out: Path, secret: SecretLookup) -> Path:
    """Write the compose file, its config files and secret env files into `out`."""
    out.mkdir(parents=True, exist_ok=True)
    for plan in container_plans(platform):
        for f in plan.files:
            values = {k: secret(k) for k in f.secret_keys}
            _write(out / mounted_path(plan, f.path), f.content(values), private=f.is_secret)
        if plan.secret_env:
            lines = [f"{var}={secret(key)}" for var, key in sorted(plan.secret_env.items())]
            _write(out / secret_env_file(plan), "\n".join(lines) + "\n", private=True)
    target = out / COMPOSE_FILE
    _write(target, yaml.safe_dump(compose_project(platform), sort_keys=False), private=False)
    return target


def _write(path: Path, text: str, private: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600 if private else 0o644)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)


def export_cli(stack: str, out: str) -> Path:
    """`invoke stack.export-compose`: export and say where, never the secret values."""
    from rich.console import Console

    from infra.spec import load_platform

    platform = load_platform(stack)
    target = write_compose(platform, Path(out), lambda key: local_secret(stack, key, generate=True))
    Console().print(f"[green]wrote[/] {target} ({len(platform.enabled())} services) for stack [bold]{stack}[/]")
    return target
