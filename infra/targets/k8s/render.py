"""Offline render: run `deploy_eks` under an engine double and write what it registers as YAML.

No Pulumi engine or cluster is needed: `pulumi.runtime.set_mocks` stands in for the engine (a
test double), records every resource's inputs, and each Kubernetes object is written to its own
file. Because it runs the real program, the files are exactly what `pulumi up` would send, except
that secret values are replaced by markers that name their config key.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pulumi
import yaml

from infra.spec.errors import ConfigError, Problem
from infra.spec.model import Platform
from infra.spec.stackconfig import PROJECT, SECRET_KEYS, load_platform, stack_file

REDACTED = "REDACTED: pulumi config secret {project}:{key}"
# pulumi.runtime.rpc's wire markers for a secret value.
_SIG_KEY = "4dabf18193072939515e22adb298388d"
_SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
_FILE = re.compile(r"^\d{3}-[a-z0-9.-]+\.yaml$")


class _Recorder(pulumi.runtime.Mocks):
    """Engine double: accepts every resource and keeps its inputs in registration order."""

    def __init__(self) -> None:
        self.registered: list[tuple[str, str, dict[str, Any]]] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.registered.append((args.typ, args.name, dict(args.inputs)))
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return {}, []


def redacted_secrets() -> dict[str, str]:
    return {key: REDACTED.format(project=PROJECT, key=key) for key in SECRET_KEYS}


def capture(platform: Platform, secrets: dict[str, str] | None = None) -> list[tuple[str, str, dict[str, Any]]]:
    """(type, logical name, inputs) of every resource `deploy_eks(platform)` registers."""
    from infra.targets.k8s.program import deploy_eks

    values = redacted_secrets() if secrets is None else secrets
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    recorder = _Recorder()
    try:
        pulumi.runtime.set_mocks(recorder, project=PROJECT, stack=platform.stack, preview=False)
        config = {f"{PROJECT}:{k}": v for k, v in values.items()}
        pulumi.runtime.set_all_config(config, secret_keys=list(config))

        @pulumi.runtime.test
        def program() -> pulumi.Output[Any]:
            created = deploy_eks(platform)
            return pulumi.Output.all(*[r.urn for r in created.values()])

        program()
    finally:
        loop.close()
        asyncio.set_event_loop(None)
    return recorder.registered


def plain(value: Any) -> Any:
    """Inputs as Kubernetes reads them: secrets unwrapped, whole numbers back to ints (mocks and
    the wire protocol carry every number as a float)."""
    if isinstance(value, dict):
        if value.get(_SIG_KEY) == _SECRET_SIG:
            return plain(value.get("value"))
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# Apply order by kind (registration order depends on when inputs resolve, so it is not stable).
KIND_ORDER = (
    "Namespace", "EC2NodeClass", "NodePool", "PersistentVolumeClaim", "ConfigMap", "Secret", "Service",
    "StatefulSet", "Deployment", "PodDisruptionBudget", "ServiceMonitor", "PrometheusRule", "AlertmanagerConfig",
)  # fmt: skip
_HEAD = ("apiVersion", "kind", "metadata")


def _sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _sorted(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value


def _readable(obj: dict[str, Any]) -> dict[str, Any]:
    """apiVersion, kind, metadata first, then the rest; nested keys sorted (the wire loses order)."""
    body = _sorted(obj)
    return {**{k: body[k] for k in _HEAD if k in body}, **{k: v for k, v in body.items() if k not in _HEAD}}


def _rank(obj: dict[str, Any]) -> tuple[int, str, str]:
    kind = obj["kind"]
    rank = KIND_ORDER.index(kind) if kind in KIND_ORDER else len(KIND_ORDER)
    return rank, obj["metadata"].get("namespace", ""), obj["metadata"]["name"]


def manifests(platform: Platform, secrets: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Every Kubernetes object the program registers, in apply order."""
    objs = [
        _readable(plain(inputs)) for typ, _name, inputs in capture(platform, secrets) if typ.startswith("kubernetes:")
    ]
    return sorted(objs, key=_rank)


def file_name(index: int, obj: dict[str, Any]) -> str:
    meta = obj["metadata"]
    parts = [obj["kind"].lower(), meta.get("namespace"), meta["name"]]
    return f"{index:03d}-" + "-".join(p for p in parts if p) + ".yaml"


def write(objects: list[dict[str, Any]], out: Path) -> list[Path]:
    """One file per object, numbered in apply order; stale files of an earlier render go first."""
    out.mkdir(parents=True, exist_ok=True)
    for old in out.iterdir():
        if _FILE.match(old.name):
            old.unlink()
    paths = []
    for i, obj in enumerate(objects):
        path = out / file_name(i, obj)
        path.write_text(yaml.safe_dump(obj, sort_keys=False, default_flow_style=False))
        paths.append(path)
    return paths


def render_stack(stack: str, out: str | Path) -> list[Path]:
    """Render stack `stack` (which must target eks) into directory `out`."""
    platform = load_platform(stack)
    if platform.target != "eks":
        raise ConfigError(
            str(stack_file(stack)), [Problem(f"{PROJECT}:target", platform.target, "stack.render needs target: eks")]
        )
    return write(manifests(platform), Path(out).resolve())
