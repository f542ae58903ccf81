"""The EKS target: the platform as Kubernetes objects deployed with pulumi-kubernetes.

`deploy_eks(platform)` is the Pulumi program; `render.render_stack` runs it offline and writes
every object it registers as YAML. Imported lazily so that `invoke --list` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pulumi

    from infra.spec.model import Platform
    from infra.targets.k8s.monitoring import ObservabilityData


def deploy_eks(platform: Platform, observability: ObservabilityData | None = None) -> dict[str, pulumi.Resource]:
    """See `infra.targets.k8s.program.deploy_eks`."""
    from infra.targets.k8s.program import deploy_eks as _deploy

    return _deploy(platform, observability)


__all__ = ["deploy_eks"]
