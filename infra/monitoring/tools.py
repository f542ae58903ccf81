"""Which monitoring binaries are built from which Go modules, and at which versions.

The versions live in the wrapper modules `tools/monitoring/prometheus/go.mod` and
`tools/monitoring/alertmanager/go.mod`: one graph each, because Prometheus requires
Alertmanager as a library (v0.28.1 for Prometheus 3.7.3) and a joint graph would compile
Prometheus against the Alertmanager the stack runs, with some 40 other dependencies raised
above what upstream released. The go.mod files are read as text (no `go` needed), so the
version checks and the image hashes work on a machine without Go too.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from infra.engine.tools import BIN_DIR, Tool
from infra.spec.stackconfig import ROOT

__all__ = [
    "ALERTMANAGER",
    "ALERTMANAGER_DIR",
    "AMTOOL",
    "BIN_DIR",
    "BY_NAME",
    "DEBIAN_FALLBACK",
    "MODULE_DIR",
    "PROMETHEUS",
    "PROMETHEUS_DIR",
    "PROMTOOL",
    "TOOLS",
    "module_version",
    "pinned_release",
    "prometheus_release",
]

MODULE_DIR = ROOT / "tools" / "monitoring"
PROMETHEUS_DIR = MODULE_DIR / "prometheus"
ALERTMANAGER_DIR = MODULE_DIR / "alertmanager"
# Both upstream Makefiles (promu) stamp the version here; `--version` prints it.
VERSION_VAR = "github.com/prometheus/common/version.Version"
# Upstream's release tags are `netgo` (+ `builtinassets`, see docs/observability.md: the web UI's
# compiled assets are not in the module zip, so the built Prometheus serves the API without the UI).
TAGS = ("netgo",)


def prometheus_release(module_version: str) -> str:
    """Prometheus 3's Go module is tagged v0.3MM.P for release 3.MM.P (v0.307.3 is 3.7.3)."""
    match = re.fullmatch(r"v0\.(\d+)\.(\d+)", module_version)
    if match is None or int(match[1]) < 300:
        raise ValueError(f"{module_version!r} is not a Prometheus 3 module version (v0.3MM.P)")
    return f"{int(match[1]) // 100}.{int(match[1]) % 100}.{match[2]}"


def _tool(name: str, module: str, module_dir: Path, release_of: Callable[[str], str] | None = None) -> Tool:
    return Tool(
        name=name,
        module=module,
        package=f"{module}/cmd/{name}",
        version_var=VERSION_VAR,
        module_dir=module_dir,
        keep_v=False,
        release_of=release_of,
        tags=TAGS,
        static=True,
    )


PROMETHEUS = _tool("prometheus", "github.com/prometheus/prometheus", PROMETHEUS_DIR, prometheus_release)
PROMTOOL = _tool("promtool", "github.com/prometheus/prometheus", PROMETHEUS_DIR, prometheus_release)
ALERTMANAGER = _tool("alertmanager", "github.com/prometheus/alertmanager", ALERTMANAGER_DIR)
AMTOOL = _tool("amtool", "github.com/prometheus/alertmanager", ALERTMANAGER_DIR)
TOOLS: tuple[Tool, ...] = (PROMTOOL, AMTOOL, PROMETHEUS, ALERTMANAGER)
BY_NAME: dict[str, Tool] = {tool.name: tool for tool in TOOLS}

# Debian's packages (prometheus 2.42, prometheus-alertmanager 0.25 on bookworm): used only when
# Go is missing, and said so wherever they are used. Tool name -> Debian's command.
DEBIAN_FALLBACK: dict[str, str] = {
    "prometheus": "prometheus",
    "promtool": "promtool",
    "alertmanager": "prometheus-alertmanager",
    "amtool": "amtool",
}


def module_version(tool: Tool) -> str:
    """The version of `tool.module` its wrapper go.mod requires (read as text: no Go needed)."""
    text = (tool.module_dir / "go.mod").read_text()
    match = re.search(rf"^\s*(?:require\s+)?{re.escape(tool.module)}\s+(v\S+)", text, re.MULTILINE)
    if match is None:
        raise ValueError(f"{tool.module_dir / 'go.mod'} does not require {tool.module}")
    return match[1]


def pinned_release(tool: Tool) -> str:
    """The release `tool` is built at ("3.7.3", "0.30.0"): what `--version` prints."""
    return tool.stamp(module_version(tool))
