"""Content hash of an image's inputs: the tag that lets a build be skipped when nothing changed."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

from infra.images.catalog import ImageDef
from infra.monitoring.build import source_key
from infra.monitoring.tools import BY_NAME
from infra.spec.stackconfig import ROOT

HASH_LEN = 12
# Code that shapes an image's content beyond its build context (generators, the base recipe).
GENERATORS: dict[str, tuple[str, ...]] = {
    "base": ("base.py",),
    "llama-server": ("tiny_model.py", "prepare.py"),
    "litellm": ("prepare.py",),
    "watch": ("prepare.py",),
    "prometheus": ("gotools.py",),
    "alertmanager": ("gotools.py",),
}


def files_digest(paths: Iterable[tuple[str, Path]]) -> str:
    """sha256 over (label, bytes) pairs, in label order, so renames and edits both change it."""
    h = hashlib.sha256()
    for label, path in sorted(paths):
        h.update(label.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def context_files(img: ImageDef) -> list[tuple[str, Path]]:
    root = img.context_dir
    if not root.is_dir():
        return []
    return [
        (f"context/{p.relative_to(root)}", p) for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts
    ]


def source_files(img: ImageDef) -> list[tuple[str, Path]]:
    """The repository paths an image copies (the watch's code): any edit rebuilds it."""
    out: list[tuple[str, Path]] = []
    for name in img.sources:
        top = ROOT / name
        paths = [top] if top.is_file() else [p for p in top.rglob("*") if p.is_file()]
        out += [(f"src/{p.relative_to(ROOT)}", p) for p in paths if "__pycache__" not in p.parts]
    return out


def generator_files(img: ImageDef) -> list[tuple[str, Path]]:
    here = Path(__file__).parent
    return [(f"generator/{name}", here / name) for name in GENERATORS.get(img.name, ())]


def input_hash(img: ImageDef, parent_hash: str | None) -> str:
    """Hash of everything that goes into `img`: context files, generators, pins, the parent's hash."""
    h = hashlib.sha256()
    h.update(f"name={img.name}\nparent={parent_hash}\n".encode())
    for pin in (*img.pins, *img.wheels):
        h.update(f"pin={pin}\n".encode())
    for name in img.go_tools:
        h.update(f"go_tool={source_key(BY_NAME[name])}\n".encode())
    h.update(files_digest([*context_files(img), *source_files(img), *generator_files(img)]).encode())
    return h.hexdigest()[:HASH_LEN]
