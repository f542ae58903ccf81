"""Running an EKS diagnosis in-process, and reading what it found and what it wrote."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import yaml

from infra.spec import load_platform
from runbooks.framework import Options, execute
from runbooks.framework.display import Display
from runbooks.framework.record import RunRecord

__all__ = ["causes", "config_of", "diagnose", "pod_template", "proposed"]


def diagnose(
    module: str, yes: bool = False, dry_run: bool = False, service: str | None = None, **extra: Any
) -> RunRecord:
    """`invoke runbook.<name>` without the process: build for eks-prod, execute, the record."""
    platform = load_platform("eks-prod")
    options = Options(stack="eks-prod", service=service, yes=yes, dry_run=dry_run, extra=extra)
    runbook = importlib.import_module(f"runbooks.eks.{module}").build(platform, options)
    return execute(runbook, options, platform, display=Display())


def causes(record: RunRecord) -> list[str]:
    return record.measurements["diagnosis"]["causes"]


def finding(record: RunRecord, cause: str) -> dict[str, Any]:
    return next(f for f in record.measurements["diagnosis"]["findings"] if f["cause"] == cause)


def proposed(record: RunRecord) -> dict[str, Any]:
    return {c["key"]: c["new"] for c in record.measurements["diagnosis"]["changes"]}


def config_of(path: Path) -> dict[str, Any]:
    """`inferops:` keys of a stack file, flattened to dotted keys (`eks.gpu_pool.gpu_limit`)."""
    doc = yaml.safe_load(path.read_text())["config"]
    out: dict[str, Any] = {}

    def walk(prefix: str, node: Any) -> None:
        if isinstance(node, dict) and not ("secure" in node and len(node) == 1):
            for k, v in node.items():
                walk(f"{prefix}.{k}" if prefix else str(k), v)
        else:
            out[prefix] = node

    for key, value in doc.items():
        walk(key.partition(":")[2], value)
    return out


def changed_keys(before: dict[str, Any], after: dict[str, Any]) -> set[str]:
    return {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}


def pod_template(objects: list[dict[str, Any]], service: str) -> tuple[dict[str, str], dict[str, Any]]:
    """(labels, spec) of the pod template the EKS program writes for `service`."""
    for obj in objects:
        if obj["kind"] in ("Deployment", "StatefulSet") and obj["metadata"]["name"] == service:
            template = obj["spec"]["template"]
            return dict(template["metadata"]["labels"]), template["spec"]
    raise KeyError(service)
