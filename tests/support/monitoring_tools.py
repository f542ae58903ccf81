"""Helpers for the observability tests: the real promtool / amtool at the pinned versions (built
from Go modules, `infra.monitoring`), rendered files in tmp dirs.

Without Go, Debian's older promtool/amtool stand in, and every test that uses them says so (a
warning naming the versions); the tests that assert the pinned version are skipped with that
reason instead of passing on the wrong binary.
"""

from __future__ import annotations

import subprocess
import warnings
from functools import cache
from pathlib import Path

import pytest

from infra.monitoring.build import MonitoringToolsMissing, Resolved, ensure_monitoring
from infra.monitoring.tools import BY_NAME
from infra.observability.export import export_files
from infra.spec import Platform

__all__ = ["FallbackInUse", "available", "export", "monitoring_tool", "require_pinned", "run", "use"]


class FallbackInUse(UserWarning):
    """Debian's promtool/amtool run instead of the pinned versions (no Go on this machine)."""


@cache
def monitoring_tool(name: str) -> Resolved:
    """promtool, amtool, prometheus or alertmanager, built on first need (a lock keeps pytest's
    workers from building the same binary twice)."""
    tool = BY_NAME[name]
    (found,) = ensure_monitoring([tool], say=lambda line: print(f"[monitoring tools] {line}"))
    return found


def available(name: str) -> Resolved:
    """The tool, or skip saying that neither Go nor Debian's package is here."""
    try:
        return monitoring_tool(name)
    except MonitoringToolsMissing as err:
        pytest.skip(str(err))


def use(name: str) -> str:
    """The path of the tool to run; warns (visibly, in pytest's summary) when it is the fallback."""
    found = available(name)
    if not found.built:
        warnings.warn(found.note, FallbackInUse, stacklevel=2)
    return str(found.path)


def require_pinned(name: str) -> Resolved:
    """The pinned build, or skip with the fallback's note (a version test must not pass on Debian's)."""
    found = available(name)
    if not found.built:
        pytest.skip(found.note)
    return found


def run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, check=False, cwd=cwd, timeout=60)


def export(platform: Platform, out: Path) -> Path:
    export_files(platform, out)
    return out
