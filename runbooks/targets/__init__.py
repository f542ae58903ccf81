"""Targets: the one interface runbooks use to act on services, per place the stack runs."""

from __future__ import annotations

from infra.spec.model import Platform
from runbooks.targets.base import ExecResult, ServiceState, Target, TargetError, Unsupported

__all__ = ["ExecResult", "ServiceState", "Target", "TargetError", "Unsupported", "target_for"]


def target_for(platform: Platform) -> Target:
    """The target the stack's config names (`inferops:target`): compose → Docker, eks → Kubernetes."""
    if platform.target == "eks":
        from runbooks.targets.k8s_target import KubernetesTarget

        return KubernetesTarget(platform)
    from runbooks.targets.docker_target import DockerTarget

    return DockerTarget(platform)
