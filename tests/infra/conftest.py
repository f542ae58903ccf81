"""testinfra suite of a running stack, driven by the service table (`pytest tests/infra`).

`--stack` picks the stack (default `local`); every parametrized case comes from that stack's
enabled services, config files and gateway routes, never from a copied list. testinfra's own
`--hosts` picks the machine whose Docker engine runs the stack: `local://` by default, or
`ssh://user@gpu-box` for a remote host (then the in-container checks go through
`DOCKER_HOST=ssh://user@gpu-box`, and HTTP checks use the stack's `accessHost`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import testinfra

from infra.render.files import config_files
from infra.spec import Platform, load_platform
from infra.spec.stackconfig import ROOT

DOCKER_CLI = "/usr/bin/docker"  # testinfra's docker backend runs `docker` from PATH
SHIM_DIR = ROOT / ".state" / "bin"


def pytest_configure(config: pytest.Config) -> None:
    # testinfra calls plain `docker`; on this machine /usr/local/bin/docker is another client.
    if Path(DOCKER_CLI).is_file():
        SHIM_DIR.mkdir(parents=True, exist_ok=True)
        shim = SHIM_DIR / "docker"
        if not shim.is_symlink():
            shim.symlink_to(DOCKER_CLI)
        os.environ["PATH"] = f"{SHIM_DIR}{os.pathsep}{os.environ.get('PATH', '')}"
    hosts = config.getoption("hosts", default=None) or ""
    if hosts.startswith("ssh://"):
        os.environ.setdefault("DOCKER_HOST", hosts.split(",")[0])


def _platform(config: pytest.Config) -> Platform:
    return load_platform(config.getoption("--stack"))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Cases from the service table: one per service, llama-server, config file, gateway route."""
    if not {"svc", "llama_svc", "config_file", "route"} & set(metafunc.fixturenames):
        return
    platform = _platform(metafunc.config)
    enabled = platform.enabled()
    cases: dict[str, list[Any]] = {
        "svc": enabled,
        "llama_svc": [s for s in enabled if s.llama is not None],
        "config_file": config_files(platform),
        "route": list(platform.gateway.routes),
    }
    for name, values in cases.items():
        if name in metafunc.fixturenames:
            ids = [getattr(v, "name", None) or f"{getattr(v, 'service', '')}:{getattr(v, 'path', v)}" for v in values]
            metafunc.parametrize(name, values, ids=ids)


@pytest.fixture(scope="session")
def platform(request: pytest.FixtureRequest) -> Platform:
    return _platform(request.config)


@pytest.fixture(scope="session")
def container_host() -> Any:
    """testinfra host inside a service's container (docker backend), cached per container."""
    cache: dict[str, Any] = {}

    def get(name: str) -> Any:
        if name not in cache:
            cache[name] = testinfra.get_host(f"docker://{name}")
        return cache[name]

    return get
