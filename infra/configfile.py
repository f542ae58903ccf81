"""A config file that a service mounts, as every renderer produces it and every target writes it.

A leaf beside the spec: the service renderers (infra/render) and the observability renderers
(infra/observability) both make these, and infra/render collects them all per stack, so the type
lives below both.

A file whose content holds secrets (webhook URLs, keys) names them in `secret_keys`; targets
supply the values (Pulumi config secrets in the programs, the local secret store in exports) and
keep the rendered text secret.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import yaml

__all__ = ["ConfigFile", "Render", "require_secret", "to_yaml"]

Render = Callable[[Mapping[str, str]], str]


@dataclass(frozen=True)
class ConfigFile:
    """One file mounted read-only into one service's container."""

    service: str
    path: str
    render: Render
    secret_keys: tuple[str, ...] = field(default=())

    @property
    def is_secret(self) -> bool:
        return bool(self.secret_keys)

    def content(self, secrets: Mapping[str, str] | None = None) -> str:
        return self.render(secrets or {})


def require_secret(secrets: Mapping[str, str], key: str) -> str:
    """A secret value, or an error that says how to set it (the value itself is never shown)."""
    try:
        return secrets[key]
    except KeyError:
        raise KeyError(f"secret {key!r} is not set; run: pulumi config set --secret inferops:{key} <value>") from None


def to_yaml(data: object) -> str:
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False)
