"""Where reports go and how they are written: `reports/<stack>/<date>-<kind>.{html,md}` (+ PNGs).

The directory is `inferops:weeklyCheck.reports_dir` (default `reports/`, relative to the
repository root), or `$INFEROPS_REPORTS_DIR` when set (tests, CI artefacts). Files are written
atomically (temp file + rename), so a reader never sees half a report.
"""

from __future__ import annotations

import os
from pathlib import Path

from infra.spec.model import Platform
from runbooks.reports import plots as drawing
from runbooks.reports import render
from runbooks.reports.model import Report

__all__ = ["REPORTS_ENV", "reports_dir", "write"]

REPORTS_ENV = "INFEROPS_REPORTS_DIR"


def reports_dir(platform: Platform) -> Path:
    override = os.environ.get(REPORTS_ENV, "").strip()
    if override:
        return Path(override)
    from infra.spec.stackconfig import ROOT

    path = Path(platform.weekly_check.reports_dir)
    return path if path.is_absolute() else ROOT / path


def _atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def write(platform: Platform, report: Report) -> dict[str, str]:
    """Draw the plots, write HTML, Markdown and one PNG per plot; returns the paths written."""
    directory = reports_dir(platform) / report.stack
    directory.mkdir(parents=True, exist_ok=True)
    stem = f"{report.generated[:10]}-{report.kind}"
    report.plots = drawing.draw_all(report.plots)
    images = {p.key: f"{stem}-{p.key}.png" for p in report.plots}
    written = {}
    for p in report.plots:
        _atomic(directory / images[p.key], p.png)
        written[f"png:{p.key}"] = str(directory / images[p.key])
    _atomic(directory / f"{stem}.html", render.html(report).encode())
    _atomic(directory / f"{stem}.md", render.markdown(report, images).encode())
    written |= {"html": str(directory / f"{stem}.html"), "md": str(directory / f"{stem}.md")}
    return written
