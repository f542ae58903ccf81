"""Every config file of a stack's enabled services, rendered once for every target: the
gateway's config here, the observability files from infra/observability (infra/configfile.py has
the file type they share)."""

from __future__ import annotations

from infra.configfile import ConfigFile, to_yaml
from infra.render.gateway import CONFIG_PATH, gateway_config
from infra.render.watch import watch_files
from infra.spec.model import Platform, Role

__all__ = ["config_files"]


def _static(service: str, path: str, text: str) -> ConfigFile:
    return ConfigFile(service=service, path=path, render=lambda _secrets: text)


def config_files(platform: Platform) -> list[ConfigFile]:
    """Every config file of the enabled services, in a stable order."""
    enabled = {s.name for s in platform.enabled()}
    files: list[ConfigFile] = []
    for gw in platform.by_role(Role.GATEWAY):
        files.append(_static(gw.name, CONFIG_PATH, to_yaml(gateway_config(platform))))
    files.extend(_observability_files(platform))
    files.extend(watch_files(platform))
    return [f for f in files if f.service in enabled]


def _observability_files(platform: Platform) -> list[ConfigFile]:
    from infra.observability.files import observability_files  # only when rendering: it is large

    return observability_files(platform)
