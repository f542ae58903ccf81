"""Look at a rendered report: a headless chromium screenshot, and what is on it.

`shoot` runs `chromium --headless --screenshot` on a file:// URL (skips the test, with the reason,
only when no chromium is installed: scripts/install-system-deps installs it). `looks` reads the
PNG with PIL: the pixel spread (a blank page has none) and how many pixels have a given colour,
so a test can see the table's header band and its verdict cells, not only parse the HTML.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

__all__ = ["Looks", "looks", "shoot"]

BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def shoot(html: Path, out: Path, width: int = 1200, height: int = 1600) -> Path:
    browser = next((b for b in BROWSERS if shutil.which(b)), None)
    if browser is None:
        pytest.skip("no chromium to look at the report with (scripts/install-system-deps installs it)")
    argv = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
            f"--user-data-dir={out.parent / 'chromium-profile'}", f"--window-size={width},{height}",
            f"--screenshot={out}", html.resolve().as_uri()]  # fmt: skip
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    assert out.is_file(), f"chromium wrote no screenshot (exit {proc.returncode}): {proc.stderr[-2000:]}"
    return out


@dataclass(frozen=True)
class Looks:
    size: tuple[int, int]
    stddev: float  # of the grey levels: 0 for a blank page
    colours: dict[tuple[int, int, int], int]  # pixel count per exact RGB colour


def looks(png: Path) -> Looks:
    from PIL import Image, ImageStat

    with Image.open(png) as img:
        rgb = img.convert("RGB")
        stddev = ImageStat.Stat(rgb.convert("L")).stddev[0]
        counts = {colour: n for n, colour in rgb.getcolors(maxcolors=1 << 24) or []}
        return Looks(rgb.size, stddev, counts)


def rgb(hex_colour: str) -> tuple[int, int, int]:
    h = hex_colour.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)
