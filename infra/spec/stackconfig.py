"""Turn stack config (`stacks/Pulumi.<stack>.yaml`) into a validated Platform.

The Pulumi program and everything else (runbooks, exports, tests) go through
`platform_from_config`, so a value means the same thing wherever it is read. Errors are
collected and raised together as one ConfigError before any resource exists.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field, ValidationError

from infra.spec.alerting import SECRET_KEYS as ALERTING_SECRETS
from infra.spec.alerting import Alerting, alerting_problems
from infra.spec.backup import SECRET_KEYS as BACKUP_SECRETS
from infra.spec.backup import Backup
from infra.spec.daily_check import SECRET_KEYS as DAILY_CHECK_SECRETS
from infra.spec.daily_check import DailyCheck
from infra.spec.defaults import DEFAULT_IMAGES, GPU_LAYER_KNOBS, PLATFORM_FILE_ENV, default_services
from infra.spec.drills import Drills
from infra.spec.eks import SECRET_KEYS as EKS_SECRETS
from infra.spec.eks import Eks, eks_problems
from infra.spec.errors import ConfigError, Problem
from infra.spec.gpu import GpuLayers
from infra.spec.model import (
    Gateway,
    HealthCheck,
    Platform,
    ProbeTool,
    Resources,
    RestartPolicy,
    Service,
    Strict,
    Tuning,
)
from infra.spec.reload import SECRET_KEYS as RELOAD_SECRETS
from infra.spec.reload import Reload
from infra.spec.watch import SECRET_KEYS as WATCH_SECRETS
from infra.spec.watch import Watch
from infra.spec.weekly_check import SECRET_KEYS as WEEKLY_CHECK_SECRETS
from infra.spec.weekly_check import WeeklyCheck

PROJECT = "inferops"
ROOT = Path(__file__).resolve().parents[2]
# `INFEROPS_STACKS_DIR` points every command at another copy of the stack files (tests use one).
STACKS_DIR = Path(os.environ.get("INFEROPS_STACKS_DIR") or ROOT / "stacks")

# Top-level config keys (after the `inferops:` namespace) and the Platform field each feeds.
PLATFORM_KEYS: dict[str, str] = {
    "target": "target",
    "dockerHost": "docker_host",
    "bindAddress": "bind_address",
    "accessHost": "access_host",
    "network": "network",
    "gpuHost": "gpu_host",
    "pullImages": "pull_images",
}
# Sections owned by one target or concern each: config key -> (Platform field, model).
SECTIONS: dict[str, tuple[str, type[BaseModel]]] = {
    "alerting": ("alerting", Alerting),
    "eks": ("eks", Eks),
    "gpuLayers": ("gpu_layers", GpuLayers),
    "backup": ("backup", Backup),
    "reload": ("reload", Reload),
    "dailyCheck": ("daily_check", DailyCheck),
    "weeklyCheck": ("weekly_check", WeeklyCheck),
    "watch": ("watch", Watch),
    "drills": ("drills", Drills),
}
SECTION_KEYS = ("images", "tuning", "gateway", "services", *SECTIONS)
# Secrets are read by the programs through Pulumi config, never into the spec.
SECRET_KEYS = (
    "gatewayMasterKey",
    *ALERTING_SECRETS,
    *EKS_SECRETS,
    *BACKUP_SECRETS,
    *RELOAD_SECRETS,
    *DAILY_CHECK_SECRETS,
    *WATCH_SECRETS,
    *WEEKLY_CHECK_SECRETS,
)
KNOWN_KEYS = (*PLATFORM_KEYS, *SECTION_KEYS, *SECRET_KEYS)


class HealthOverride(Strict):
    path: str | None = Field(None, pattern=r"^/")
    interval_s: float | None = Field(None, gt=0)
    timeout_s: float | None = Field(None, gt=0)
    retries: int | None = Field(None, ge=1)
    start_period_s: float | None = Field(None, ge=0)
    tool: ProbeTool | None = None


class ServiceOverride(Strict):
    """What a stack may change on one service of the default table."""

    enabled: bool | None = None
    image: str | None = Field(None, min_length=1)
    port: int | None = Field(None, ge=1, le=65535)
    host_port: int | None = Field(None, ge=1, le=65535)
    publish: bool | None = None
    env: dict[str, str] = Field(default_factory=dict)
    model: str | None = Field(None, min_length=1)
    n_gpu_layers: int | None = Field(None, ge=0)
    ctx_size: int | None = Field(None, ge=1)
    extra_args: tuple[str, ...] | None = None
    gpus: int | None = Field(None, ge=0, le=16)
    restart: RestartPolicy | None = None
    memory_mib: int | None = Field(None, ge=16)
    cpus: float | None = Field(None, gt=0)
    replicas: int | None = Field(None, ge=1)
    depends_on: tuple[str, ...] | None = None
    health: HealthOverride | None = None


def stack_file(stack: str) -> Path:
    return STACKS_DIR / f"Pulumi.{stack}.yaml"


def available_stacks() -> list[str]:
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in STACKS_DIR.glob("Pulumi.*.yaml"))


def read_stack_config(stack: str) -> dict[str, Any]:
    """The `inferops:` keys of a stack file, without the namespace; secret values left out."""
    path = stack_file(stack)
    if not path.is_file():
        raise ConfigError(
            str(path),
            [Problem("stack", stack, f"no such stack; available: {', '.join(available_stacks())}")],
        )
    doc = yaml.safe_load(path.read_text()) or {}
    raw: dict[str, Any] = {}
    for key, value in (doc.get("config") or {}).items():
        namespace, _, name = key.partition(":")
        if namespace != PROJECT:
            continue
        if isinstance(value, Mapping) and "secure" in value:
            continue
        raw[name] = value
    return raw


def load_platform(stack: str) -> Platform:
    """The validated platform of `stack`, read from its stack file, or, inside the stack (the watch
    container, `$INFEROPS_PLATFORM_FILE`), from the platform as it was deployed."""
    deployed = os.environ.get(PLATFORM_FILE_ENV)
    if deployed:
        return deployed_platform(stack, Path(deployed))
    return platform_from_config(stack, read_stack_config(stack), source=str(stack_file(stack)))


def deployed_platform(stack: str, path: Path) -> Platform:
    """The platform file a deploy rendered (infra/render/watch.py); it serves its own stack only."""
    try:
        platform = Platform.model_validate_json(path.read_text())
    except OSError as err:
        problem = Problem(PLATFORM_FILE_ENV, str(path), f"cannot read it ({err.strerror})")
        raise ConfigError(str(path), [problem]) from None
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        fix = f"{first['msg']}; redeploy the stack to render it again"
        shown = str(first.get("input"))[:80]  # a corrupt file is not printed whole
        raise ConfigError(str(path), [Problem(where or PLATFORM_FILE_ENV, shown, fix)]) from None
    if platform.stack != stack:
        fix = f"this file is stack {platform.stack!r}'s: pass --stack {platform.stack}"
        raise ConfigError(str(path), [Problem("--stack", stack, fix)])
    return platform


def platform_from_config(stack: str, raw: Mapping[str, Any], source: str) -> Platform:
    """Validate raw config (keys without namespace) into a Platform, or raise ConfigError."""
    problems = [
        Problem(f"{PROJECT}:{k}", raw[k], f"unknown key; known keys: {', '.join(KNOWN_KEYS)}")
        for k in raw
        if k not in KNOWN_KEYS
    ]
    tuning = _parse(Tuning, raw.get("tuning") or {}, "tuning", problems)
    gateway = _parse(Gateway, raw.get("gateway") or {}, "gateway", problems)
    images = _images(raw.get("images") or {}, problems)
    overrides = _overrides(raw.get("services") or {}, problems)
    sections = {field: _parse(model, raw.get(key) or {}, key, problems) for key, (field, model) in SECTIONS.items()}
    if problems or tuning is None or gateway is None:
        raise ConfigError(source, problems)

    services = default_services(tuning, images)
    built: dict[str, Service] = {}
    for name, svc in services.items():
        built[name] = _apply(svc, overrides.get(name), problems)
    fields = {PLATFORM_KEYS[k]: v for k, v in raw.items() if k in PLATFORM_KEYS}
    try:
        platform = Platform(stack=stack, tuning=tuning, gateway=gateway, services=built, **sections, **fields)
    except ValidationError as err:
        problems.extend(_problems(err, prefix=""))
        raise ConfigError(source, problems) from None
    problems.extend(_cross_checks(platform))
    if problems:
        raise ConfigError(source, problems)
    return platform


def _key(prefix: str, loc: tuple[Any, ...]) -> str:
    parts = [prefix] if prefix else []
    parts.extend(str(p) for p in loc)
    head, *rest = parts or ["?"]
    head = next((k for k, f in PLATFORM_KEYS.items() if f == head), head)
    return f"{PROJECT}:{head}" + "".join(f".{p}" for p in rest)


def _problems(err: ValidationError, prefix: str) -> list[Problem]:
    out = []
    for e in err.errors():
        loc = tuple(p for p in e["loc"] if p not in ("function-after",))
        msg = e["msg"].removeprefix("Value error, ")
        out.append(Problem(_key(prefix, loc), e.get("input"), msg))
    return out


def _parse(model: type[BaseModel], data: Any, prefix: str, problems: list[Problem]) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as err:
        problems.extend(_problems(err, prefix))
        return None


def _images(data: Any, problems: list[Problem]) -> dict[str, str]:
    images = dict(DEFAULT_IMAGES)
    if not isinstance(data, Mapping):
        problems.append(Problem(f"{PROJECT}:images", data, "must be a mapping of image name to reference"))
        return images
    for name, ref in data.items():
        if name not in DEFAULT_IMAGES:
            problems.append(
                Problem(f"{PROJECT}:images.{name}", ref, f"unknown image; known: {', '.join(DEFAULT_IMAGES)}")
            )
        elif not isinstance(ref, str) or not ref:
            problems.append(Problem(f"{PROJECT}:images.{name}", ref, "must be an image reference string"))
        else:
            images[name] = ref
    return images


def _overrides(data: Any, problems: list[Problem]) -> dict[str, ServiceOverride]:
    if not isinstance(data, Mapping):
        problems.append(Problem(f"{PROJECT}:services", data, "must be a mapping of service name to settings"))
        return {}
    known = default_services(Tuning(), DEFAULT_IMAGES)
    out: dict[str, ServiceOverride] = {}
    for name, body in data.items():
        if name not in known:
            problems.append(Problem(f"{PROJECT}:services.{name}", body, f"unknown service; known: {', '.join(known)}"))
            continue
        parsed = _parse(ServiceOverride, body or {}, f"services.{name}", problems)
        if parsed is None:
            continue
        if parsed.n_gpu_layers is not None and name in GPU_LAYER_KNOBS:
            problems.append(
                Problem(
                    f"{PROJECT}:services.{name}.n_gpu_layers",
                    parsed.n_gpu_layers,
                    f"set {PROJECT}:tuning.{GPU_LAYER_KNOBS[name]} instead (the seed's knob)",
                )
            )
        if (parsed.model or parsed.n_gpu_layers is not None or parsed.ctx_size or parsed.extra_args) and known[
            name
        ].llama is None:
            problems.append(
                Problem(
                    f"{PROJECT}:services.{name}",
                    body,
                    "model/n_gpu_layers/ctx_size/extra_args apply to llama-server services only",
                )
            )
        out[name] = parsed
    return out


def _apply(svc: Service, o: ServiceOverride | None, problems: list[Problem]) -> Service:
    if o is None:
        return svc
    changes: dict[str, Any] = {
        k: v
        for k, v in {
            "enabled": o.enabled,
            "image": o.image,
            "port": o.port,
            "host_port": o.host_port,
            "publish": o.publish,
            "restart": o.restart,
            "replicas": o.replicas,
            "depends_on": o.depends_on,
        }.items()
        if v is not None
    }
    if o.env:
        changes["env"] = {**svc.env, **o.env}
    if o.gpus is not None:
        changes["gpu"] = svc.gpu.model_copy(update={"count": o.gpus})
    if o.memory_mib is not None or o.cpus is not None:
        changes["resources"] = Resources(
            memory_mib=o.memory_mib or svc.resources.memory_mib, cpus=o.cpus or svc.resources.cpus
        )
    if svc.llama is not None:
        llama = {
            k: v
            for k, v in {
                "model": o.model,
                "n_gpu_layers": o.n_gpu_layers,
                "ctx_size": o.ctx_size,
                "extra_args": o.extra_args,
            }.items()
            if v is not None
        }
        if llama:
            changes["llama"] = svc.llama.model_copy(update=llama)
    if o.health is not None:
        merged = {**svc.health.model_dump(), **o.health.model_dump(exclude_none=True)}
        try:
            changes["health"] = HealthCheck.model_validate(merged)
        except ValidationError as err:
            problems.extend(_problems(err, f"services.{svc.name}.health"))
    try:
        return Service.model_validate({**svc.model_dump(), **changes})
    except ValidationError as err:
        problems.extend(_problems(err, f"services.{svc.name}"))
        return svc


def _cross_checks(platform: Platform) -> list[Problem]:
    problems: list[Problem] = eks_problems(platform, prefix=f"{PROJECT}:eks")
    problems.extend(alerting_problems(platform, prefix=f"{PROJECT}:alerting"))
    for svc in platform.enabled():
        unknown = sorted(set(svc.secret_env.values()) - set(SECRET_KEYS))
        if unknown:
            problems.append(
                Problem(f"{PROJECT}:services.{svc.name}.secret_env", unknown, f"unknown secret; known: {SECRET_KEYS}")
            )
    enabled = {s.name for s in platform.enabled()}
    for svc in platform.enabled():
        for dep in svc.depends_on:
            if dep not in platform.services:
                problems.append(
                    Problem(
                        f"{PROJECT}:services.{svc.name}.depends_on",
                        list(svc.depends_on),
                        f"unknown service {dep}; known: {', '.join(platform.services)}",
                    )
                )
            elif dep not in enabled:
                problems.append(
                    Problem(
                        f"{PROJECT}:services.{dep}.enabled",
                        False,
                        f"{svc.name} depends on {dep}: enable {dep} or disable {svc.name}",
                    )
                )
    if not problems:
        try:
            platform.start_order()
        except ValueError as err:
            problems.append(Problem(f"{PROJECT}:services", "depends_on", f"{err}; break the cycle"))
    seen: dict[int, str] = {}
    for svc in platform.enabled():
        if not svc.publish:
            continue
        port = svc.published_port
        if port in seen:
            problems.append(
                Problem(
                    f"{PROJECT}:services.{svc.name}.host_port",
                    port,
                    f"port {port} is already published by {seen[port]}; choose a free port",
                )
            )
        seen[port] = svc.name
    for group, backends in platform.gateway.routes.items():
        for backend in backends:
            if backend not in enabled or platform.services[backend].llama is None:
                problems.append(
                    Problem(
                        f"{PROJECT}:gateway.routes.{group}",
                        list(backends),
                        f"{backend} is not an enabled llama-server service",
                    )
                )
    if platform.gpu_host is False:
        for svc in platform.enabled():
            if svc.gpu.count and svc.role.value == "monitoring":
                problems.append(
                    Problem(
                        f"{PROJECT}:services.{svc.name}.enabled",
                        True,
                        "needs a GPU host; disable it when gpuHost is false",
                    )
                )
    return problems
