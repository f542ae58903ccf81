"""Build the monitoring binaries from Go modules into `.tools/bin`, cached by version, or say
plainly that Debian's older packages stand in for them because Go is missing.

The engine tools' build (`infra.engine.build`) does the work: the same stamp files next to each
binary, the same niced `go build`, the same cache check. What this adds: static binaries
(CGO off, so the images can copy them), a lock so two processes (pytest's workers, a parallel
`images.build`) never build the same binary at once, and the fallback.
"""

from __future__ import annotations

import fcntl
import re
import shutil
import subprocess
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.engine.build import Built, EngineBuildFailed, GoMissing, build_tool, check_go, is_cached, wanted_stamp
from infra.engine.tools import Tool
from infra.errors import Failed, Missing
from infra.monitoring.tools import BIN_DIR, DEBIAN_FALLBACK, PROMETHEUS_DIR, TOOLS, module_version, pinned_release

__all__ = [
    "COLD_BUILD",
    "MonitoringBuildFailed",
    "MonitoringGoMissing",
    "MonitoringToolsMissing",
    "Resolved",
    "build_monitoring",
    "ensure_monitoring",
    "fallback_note",
    "go_missing",
    "reported_version",
    "source_key",
]

LOCK_NAME = ".monitoring-build.lock"
# Measured on this 2-core machine shared with other builds (load about 15; docs/observability.md).
COLD_BUILD = "about 20 minutes the first time on 2 busy cores (all four), cached by version afterwards"


class MonitoringGoMissing(GoMissing):
    """No Go: the pinned Prometheus/Alertmanager cannot be built here."""


class MonitoringBuildFailed(Failed, RuntimeError):
    """`go build` of a monitoring tool failed; the message carries go's own stderr."""


class MonitoringToolsMissing(Missing, RuntimeError):
    """Neither Go (to build the pinned versions) nor Debian's packages (the fallback) are here."""


@dataclass(frozen=True)
class Resolved:
    """The binary to use for one tool, and whether it is the pinned build or Debian's stand-in."""

    tool: Tool
    path: Path
    version: str
    built: bool
    note: str


def go_missing() -> str | None:
    """None when `go` is on PATH; else the plain statement of what that means here."""
    if shutil.which("go") is not None:
        return None
    return (
        "Go is not installed (no `go` on PATH), so Prometheus/promtool/Alertmanager/amtool cannot be "
        "built at the pinned versions (tools/monitoring/*/go.mod); Debian's older packages stand in "
        "(prometheus 2.42, prometheus-alertmanager 0.25 on bookworm), which do NOT behave like the "
        "deployed Prometheus 3 in every case. Install Go >= the go.mod's `go` line (https://go.dev/dl/)."
    )


@contextmanager
def build_lock(bin_dir: Path) -> Iterator[None]:
    """One builder at a time per `.tools/bin`; the others wait, then find the stamps."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    with (bin_dir / LOCK_NAME).open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def build_monitoring(
    bin_dir: Path = BIN_DIR, tools: Iterable[Tool] = TOOLS, report: Callable[[str], Any] = print
) -> list[Built]:
    """Build `tools` at the versions their wrapper go.mod requires (cached: stamps)."""
    why = go_missing()
    if why:
        raise MonitoringGoMissing(why)
    go_version = check_go(PROMETHEUS_DIR)
    built: list[Built] = []
    with build_lock(bin_dir):
        for tool in tools:
            version = module_version(tool)
            report(
                f"{tool.name} {pinned_release(tool)} ({tool.module} {version}): checking the cache, building if needed"
            )
            try:
                result = build_tool(tool, version, go_version, tool.module_dir, bin_dir)
            except EngineBuildFailed as err:  # go's own stderr, named for what was being built
                raise MonitoringBuildFailed(str(err).replace("engine build", f"{tool.name} build", 1)) from None
            report(result.line())
            built.append(result)
    return built


def source_key(tool: Tool) -> str:
    """What an image holding `tool` is made from, for its input hash: the pinned module version and
    build flags, or Debian's fallback (so an image built without Go is rebuilt once Go is there)."""
    if go_missing():
        return f"{tool.name}: Debian package {DEBIAN_FALLBACK[tool.name]} (fallback, no Go)"
    return f"{tool.name}: {tool.module} {module_version(tool)} {sorted(tool.build_flags().items())}"


def is_built(tool: Tool, bin_dir: Path = BIN_DIR) -> bool:
    """Built at the pinned version with the Go on PATH (False without Go)."""
    if go_missing():
        return False
    stamp = wanted_stamp(tool, module_version(tool), check_go(PROMETHEUS_DIR))
    return is_cached(tool, stamp, bin_dir)


def reported_version(path: Path) -> str:
    """The version a Prometheus-project binary prints (`promtool, version 3.7.3 (branch: ...)`)."""
    out = subprocess.run([str(path), "--version"], capture_output=True, text=True, timeout=30)
    match = re.search(r"version (\S+)", out.stdout + out.stderr)
    if match is None:
        raise MonitoringToolsMissing(f"{path} --version printed no version: {(out.stdout + out.stderr).strip()!r}")
    return match[1]


def fallback_note(tool: Tool, why: str, version: str = "") -> str:
    """The line that says, wherever the fallback is used, what stands in for what and why."""
    debian = " ".join(filter(None, (DEBIAN_FALLBACK[tool.name], version)))
    return f"FALLBACK: Debian's {debian} instead of {tool.name} {pinned_release(tool)}. {why}"


def fallback(tool: Tool, why: str) -> Resolved:
    """Debian's command for `tool` on this machine, or MonitoringToolsMissing saying how to get either."""
    command = DEBIAN_FALLBACK[tool.name]
    found = shutil.which(command)
    if found is None:
        raise MonitoringToolsMissing(
            f"{why}\nDebian's `{command}` is not installed either (scripts/install-system-deps)."
        )
    version = reported_version(Path(found))
    return Resolved(tool, Path(found), version, built=False, note=fallback_note(tool, why, version))


def ensure_monitoring(
    tools: Iterable[Tool] = TOOLS, bin_dir: Path = BIN_DIR, say: Callable[[str], Any] = print
) -> list[Resolved]:
    """The pinned builds of `tools`, built the first time they are needed (and saying so); Debian's
    packages in their place when Go is missing, each with the note that says so."""
    tools = list(tools)
    why = go_missing()
    if why:
        return [fallback(tool, why) for tool in tools]
    missing = [tool.name for tool in tools if not is_built(tool, bin_dir)]
    if missing:
        say(f"the monitoring tools are not built at the pinned versions yet ({', '.join(missing)}): building them now")
        say(f"from Go modules ({COLD_BUILD}; docs/observability.md)")
        build_monitoring(bin_dir, tools, report=say)
    return [
        Resolved(
            tool,
            tool.binary(bin_dir),
            pinned_release(tool),
            built=True,
            note=f"built from {tool.module} {module_version(tool)}",
        )
        for tool in tools
    ]
