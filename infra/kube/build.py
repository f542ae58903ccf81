"""Build the control plane's binaries into `.tools/bin`, cached by version (stamp files).

The same machinery as the engine tools (infra/engine/build.py: niced `go build`, a stamp per
binary naming module version and Go, a second run returns at once); only the rows differ.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from infra.engine.build import Built, GoMissing, build_tools, is_cached, wanted_go, wanted_stamp
from infra.engine.tools import required_versions
from infra.kube.tools import BIN_DIR, KUBE_MODULE_DIR, KUBE_TOOLS

__all__ = ["build_kube", "missing_kube_tools", "require_go"]


def require_go() -> None:
    """Raise GoMissing (exit 3) with what to install: the control plane is built, never downloaded."""
    if shutil.which("go") is None:
        raise GoMissing(
            "Go is not installed (no `go` on PATH). The local control plane (kube-apiserver, "
            f"kube-controller-manager, kube-scheduler, etcd, kwok) is built from Go modules and needs "
            f"Go >= {wanted_go(KUBE_MODULE_DIR)} (tools/kube/go.mod) and the Go module proxy. Install Go "
            "from https://go.dev/dl/, then run `invoke kube.build`. Until then `invoke kube.up` refuses "
            "and tests/kube is skipped."
        )


def build_kube(bin_dir: Path = BIN_DIR, report: Callable[[str], None] = print) -> list[Built]:
    """Build every control-plane binary at its wrapper go.mod's version (cached by stamp).

    Without Go, binaries already in bin_dir are used as they are (their stamps cannot be checked
    against `go version`); with none there, GoMissing says what to install.
    """
    if shutil.which("go") is None and all(t.binary(bin_dir).is_file() for t in KUBE_TOOLS):
        report(f"no `go` on PATH: using the control-plane binaries already in {bin_dir} unchecked")
        return []
    require_go()
    return build_tools(KUBE_TOOLS, bin_dir, report)


def missing_kube_tools(bin_dir: Path = BIN_DIR) -> list[str]:
    """Names of the control-plane binaries missing or stale in bin_dir (empty: all built)."""
    import subprocess

    go = subprocess.run(["go", "version"], check=True, capture_output=True, text=True).stdout.strip()
    stale = []
    for tool in KUBE_TOOLS:
        version = required_versions(tool.module_dir)[tool.module]
        if not is_cached(tool, wanted_stamp(tool, version, go), bin_dir):
            stale.append(tool.name)
    return stale
