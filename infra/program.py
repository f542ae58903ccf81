"""What `pulumi up` runs: read the stack's config, validate it, deploy it to its target.

The platform is validated before any resource is registered, so bad config creates nothing.
"""

from __future__ import annotations

import json
from typing import Any

import pulumi

from infra.render.containers import container_plans
from infra.spec.model import Platform
from infra.spec.stackconfig import KNOWN_KEYS, PROJECT, SECRET_KEYS, platform_from_config, stack_file


def raw_config(config: pulumi.Config) -> dict[str, Any]:
    """Stack config as the spec loader takes it; objects arrive from the engine as JSON text."""
    raw: dict[str, Any] = {}
    for key in KNOWN_KEYS:
        if key in SECRET_KEYS:
            continue
        value = config.get(key)
        if value is None:
            continue
        raw[key] = json.loads(value) if value[:1] in "{[" else value
    return raw


def needed_secrets(platform: Platform) -> list[str]:
    keys: list[str] = []
    for plan in container_plans(platform):
        for key in [*plan.secret_env.values(), *(k for f in plan.files for k in f.secret_keys)]:
            if key not in keys:
                keys.append(key)
    return keys


def main() -> None:
    config = pulumi.Config(PROJECT)
    stack = pulumi.get_stack()
    platform = platform_from_config(stack, raw_config(config), source=str(stack_file(stack)))
    if platform.target == "eks":
        from infra.targets.k8s import deploy_eks

        deploy_eks(platform)
        return
    from infra.targets.docker_program import deploy_compose

    secrets = {key: config.require_secret(key) for key in needed_secrets(platform)}
    deploy_compose(platform, secrets)
