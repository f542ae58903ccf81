"""Build-context preparation for the images that carry monitoring binaries built from Go
modules (prometheus, alertmanager). Its own module, not prepare.py: prepare.py is an input of
the llama-server and litellm images' hashes, and this code is not."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from infra.images.catalog import ImageDef
from infra.images.prepare import _link_or_copy
from infra.monitoring import build as monitoring
from infra.monitoring.build import ensure_monitoring, fallback_note
from infra.monitoring.tools import BY_NAME

__all__ = ["FALLBACK_MARKER", "add_go_tools"]

FALLBACK_MARKER = "FALLBACK"


def add_go_tools(img: ImageDef, staging: Path, say: Callable[[str], object]) -> list[str]:
    """The image's monitoring binaries into `bin/` (built on first need), or, without Go, only a
    FALLBACK file whose text the Dockerfile prints before it installs Debian's package instead (the
    host needs no Debian package for that). Returns one line per tool: what went in."""
    tools = [BY_NAME[name] for name in img.go_tools]
    dest = staging / "bin"
    dest.mkdir(parents=True, exist_ok=True)
    why = monitoring.go_missing()
    if why:
        notes = [fallback_note(tool, why) for tool in tools]
        (dest / FALLBACK_MARKER).write_text("\n".join(notes) + "\n")
        return notes
    lines = []
    for resolved in ensure_monitoring(tools, say=say):
        _link_or_copy(resolved.path, dest / resolved.tool.name)
        lines.append(f"{resolved.tool.name} {resolved.version}: {resolved.note}")
    return lines
