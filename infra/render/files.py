"""Config files that services mount, rendered once for every target.

A file whose content holds secrets (webhook URLs, keys) names them in `secret_keys`; targets
supply the values (Pulumi config secrets in the programs, the local secret store in exports) and
keep the rendered text secret.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import yaml

from infra.render.gateway import CONFIG_PATH, gateway_config
from infra.spec.model import Platform, Role

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


def _static(service: str, path: str, text: str) -> ConfigFile:
    return ConfigFile(service=service, path=path, render=lambda _secrets: text)


def config_files(platform: Platform) -> list[ConfigFile]:
    """Every config file of the enabled services, in a stable order."""
    enabled = {s.name for s in platform.enabled()}
    files: list[ConfigFile] = []
    for gw in platform.by_role(Role.GATEWAY):
        files.append(_static(gw.name, CONFIG_PATH, to_yaml(gateway_config(platform))))
    files.extend(_observability_files(platform))
    return [f for f in files if f.service in enabled]


def _observability_files(platform: Platform) -> list[ConfigFile]:
    # Imported here: the observability package is larger and only needed when rendering.
    from infra.observability.files import observability_files

    return observability_files(platform)
