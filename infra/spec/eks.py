"""EKS target settings of a stack (cluster access, namespaces, Karpenter NodePools)."""

from __future__ import annotations

from infra.spec.model import Strict

SECRET_KEYS: tuple[str, ...] = ()


class Eks(Strict):
    """Placeholder until the EKS issue fills it in."""
