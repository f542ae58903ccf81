"""What `invoke kube.*` does, as functions the tests call too: build, up (start + seed), down, status."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from infra.errors import BadInput
from infra.kube.plane import CONTEXT, ControlPlane
from infra.kube.tools import BIN_DIR
from infra.spec.model import Platform
from infra.spec.stackconfig import ROOT

__all__ = ["STATE_DIR", "api_client", "eks_platform", "kube_down", "kube_up"]

STATE_DIR = ROOT / ".state" / "kube"


def eks_platform(stack: str) -> Platform:
    """The stack's platform; BadInput unless it targets EKS (its NodePools shape the nodes)."""
    from infra.spec.stackconfig import load_platform

    platform = load_platform(stack)
    if platform.target != "eks":
        raise BadInput(f"stack {stack!r} targets {platform.target}, not eks: no NodePools to shape nodes after")
    return platform


def api_client(kubeconfig: Path, context: str = CONTEXT) -> Any:
    """A kubernetes ApiClient on the control plane of `kubeconfig` (TLS verified against its CA)."""
    from kubernetes import config

    return config.new_client_from_config(config_file=str(kubeconfig), context=context)


def kube_up(
    platform: Platform, state_dir: Path = STATE_DIR, bin_dir: Path = BIN_DIR, say: Callable[[str], Any] = print
) -> ControlPlane:
    """Build if needed (says so), start the control plane, seed it for the stack; stop it on failure."""
    from infra.kube.build import build_kube
    from infra.kube.seed import seed

    build_kube(bin_dir, report=say)
    plane = ControlPlane(state_dir, bin_dir=bin_dir, say=say)
    plane.up()
    try:
        made = seed(api_client(plane.kubeconfig), platform)
    except BaseException:
        plane.down()
        raise
    say(f"seeded for stack {platform.stack}: {len(made)} objects ({_summary(made)})")
    say(f"kubeconfig: {plane.kubeconfig} (context {CONTEXT}); export KUBECONFIG={plane.kubeconfig}")
    return plane


def _summary(made: list[str]) -> str:
    kinds: dict[str, int] = {}
    for item in made:
        kind = item.split("/", 1)[0]
        kinds[kind] = kinds.get(kind, 0) + 1
    return ", ".join(f"{n} {k}" for k, n in kinds.items())


def kube_down(state_dir: Path = STATE_DIR, say: Callable[[str], Any] = print) -> list[str]:
    """Stop what `kube_up` started from state_dir (only those pids); keeps the logs."""
    stopped = ControlPlane(state_dir, say=say).down()
    say(f"stopped: {', '.join(stopped)}" if stopped else f"nothing running from {state_dir}")
    return stopped
