"""What a reload changes: `--set key=value` and `--model PATH` as a stack config edit, checked.

The edit goes through the framework's StackConfigEdit, so it is validated by the same loader as
the Pulumi program before anything is written. A reload changes one llama-server's flags and
nothing else: an edit that would change another service, or this service's ports, mounts or
environment, is refused (that is a deploy, `invoke stack.up`).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import yaml

from infra.render.containers import ContainerPlan, container_plan
from infra.spec.errors import ConfigError
from infra.spec.model import Platform, Service
from runbooks.framework.errors import BadInput
from runbooks.framework.stackedit import StackConfigEdit
from runbooks.gpu.errors import GpuLayersError
from runbooks.gpu.inputs import resolve_service, stack_config_path

# Short keys of `--set` and where they live under `inferops:` (services.<name>.<key> unless noted).
SHORT_KEYS = ("model", "n_gpu_layers", "ctx_size", "extra_args")
# Fields of a container plan that a reload may change (everything else needs a deploy).
RELOADABLE = {"command", "labels"}


@dataclass
class Change:
    service: Service
    edit: StackConfigEdit
    old: Platform
    new: Platform

    @property
    def diff(self) -> str:
        return self.edit.diff()

    def plans(self) -> tuple[ContainerPlan, ContainerPlan]:
        return container_plan(self.old, self.old.service(self.service.name)), container_plan(
            self.new, self.new.service(self.service.name)
        )


def llama_service(platform: Platform, name: str | None) -> Service:
    """The llama-server service to reload; BadInput naming the choices otherwise."""
    if not name:
        raise BadInput("--service is required: the llama-server service to reload (e.g. inference-chat)")
    try:
        return resolve_service(platform, name)
    except GpuLayersError as err:
        raise BadInput(str(err)) from None


def config_key(service: str, key: str) -> str:
    """The dotted stack config key (below `inferops:`) a `--set` key names."""
    if key == "n_gpu_layers":
        return ".".join(stack_config_path(service))
    if key in SHORT_KEYS:
        return f"services.{service}.{key}"
    if key.startswith(("services.", "tuning.")):
        return key
    raise BadInput(
        f"--set {key}: unknown key; use one of {', '.join(SHORT_KEYS)} "
        f"or a full key under inferops: (services.{service}.<key>, tuning.<KNOB>)"
    )


def parse_sets(service: str, sets: list[str] | tuple[str, ...] | None, model: str | None) -> list[tuple[str, Any]]:
    """`["ctx_size=1024", ...]` (+ `--model`) → [(dotted key, typed value)]; BadInput on bad syntax."""
    out: list[tuple[str, Any]] = []
    for item in sets or ():
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise BadInput(f"--set {item!r}: write key=value (e.g. --set ctx_size=1024)")
        try:
            value = yaml.safe_load(raw) if raw.strip() else raw
        except yaml.YAMLError as err:
            raise BadInput(f"--set {item!r}: the value is not valid YAML ({err.__class__.__name__})") from None
        if isinstance(value, list):
            value = [str(v) for v in value]
        out.append((config_key(service, key.strip()), value))
    if model is not None:
        if not model.strip():
            raise BadInput("--model must be a path inside the container (e.g. /models/chat.gguf)")
        out.append((config_key(service, "model"), model))
    return out


def _comparable(plan: ContainerPlan, name: str) -> Any:
    """A plan field as a value (config files compared by their rendered text, secrets masked)."""
    value = getattr(plan, name)
    if name == "files":
        return tuple((f.service, f.path, f.content({k: "<secret>" for k in f.secret_keys})) for f in value)
    return value


def _changed_fields(a: ContainerPlan, b: ContainerPlan) -> list[str]:
    return [f.name for f in fields(ContainerPlan) if _comparable(a, f.name) != _comparable(b, f.name)]


def prepare(platform: Platform, service: str | None, sets: Any = None, model: str | None = None) -> Change:
    """Validate the options and the edited stack config; changes nothing on disk."""
    svc = llama_service(platform, service)
    edit = StackConfigEdit(platform.stack)
    for key, value in parse_sets(svc.name, sets, model):
        edit.set(key, value)
    try:
        new = edit.validate() if edit.changes else platform
    except ConfigError as err:
        raise BadInput(str(err)) from None
    for other in new.enabled():
        if other.name == svc.name:
            continue
        if other.name not in platform.services or _changed_fields(
            container_plan(platform, platform.service(other.name)), container_plan(new, other)
        ):
            raise BadInput(
                f"this change also changes {other.name}; runbook.reload replaces {svc.name} only "
                "(set a per-service key, or deploy with invoke stack.up)"
            )
    change = Change(svc, edit, platform, new)
    before, after = change.plans()
    beyond = [f for f in _changed_fields(before, after) if f not in RELOADABLE]
    if beyond:
        raise BadInput(
            f"this change alters {', '.join(beyond)} of {svc.name}; a reload changes llama-server flags only "
            "(deploy other changes with invoke stack.up)"
        )
    return change
