"""Helpers for the observability tests: real promtool / amtool binaries, rendered files in tmp dirs."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from infra.observability.export import export_files
from infra.spec import Platform

PROMTOOL = shutil.which("promtool")
AMTOOL = shutil.which("amtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool not installed (Debian package `prometheus`; CI installs it)"
)
needs_amtool = pytest.mark.skipif(
    AMTOOL is None, reason="amtool not installed (Debian package `prometheus-alertmanager`; CI installs it)"
)


def run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, check=False, cwd=cwd, timeout=60)


def export(platform: Platform, out: Path) -> Path:
    export_files(platform, out)
    return out
