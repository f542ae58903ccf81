"""Which secret config keys the EKS program needs: what `stack.preview|up` checks before the
engine runs, and what `stack.render` fills with markers when the stack lacks them."""

from __future__ import annotations

from typing import Any

from infra.spec.stackconfig import PROJECT

__all__ = ["secret_keys_used"]


def secret_keys_used(platform: Any) -> list[str]:
    """Secret config keys the EKS program reads, found by running it under the mock engine
    (`infra.targets.k8s.render`), whose secret markers name their keys."""
    import re

    import yaml

    from infra.targets.k8s.render import manifests

    text = yaml.safe_dump(manifests(platform))
    return sorted(set(re.findall(rf"pulumi config secret {PROJECT}:([A-Za-z0-9_]+)", text)))
