"""Image catalog and input hashing: the tag that decides whether a build can be skipped."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.images import catalog, hashing
from infra.images.build import hashes
from infra.images.catalog import IMAGES, ImageDef, UnknownImage, selection
from infra.spec import load_platform


def test_selection_adds_the_parent_first() -> None:
    assert [i.name for i in selection("litellm")] == ["base", "litellm"]
    assert [i.name for i in selection("alert-sink,base")] == ["base", "alert-sink"]
    assert [i.name for i in selection(None)] == list(IMAGES)


def test_unknown_image_names_the_known_ones() -> None:
    with pytest.raises(UnknownImage) as err:
        selection("litelm")
    assert "litelm" in str(err.value) and "litellm" in str(err.value)


def test_local_stack_images_are_all_buildable_here() -> None:
    """Every image the local stack runs is one this project builds (nothing can be pulled)."""
    local = {img.local_ref for img in IMAGES.values()}
    for svc in load_platform("local").enabled():
        assert svc.image in local, f"{svc.name} runs {svc.image}, which `invoke images.build` does not make"


def _image(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> ImageDef:
    monkeypatch.setattr(catalog, "IMAGES_DIR", tmp_path)
    (tmp_path / "demo").mkdir(exist_ok=True)
    (tmp_path / "demo" / "Dockerfile").write_text(text)
    return ImageDef("demo", "test image")


def test_hash_follows_context_parent_and_pins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    img = _image(tmp_path, monkeypatch, "FROM x\n")
    first = hashing.input_hash(img, "parent1")
    assert hashing.input_hash(img, "parent1") == first
    assert hashing.input_hash(img, "parent2") != first
    assert hashing.input_hash(ImageDef("demo", "s", pins=("a==1",)), "parent1") != first
    (tmp_path / "demo" / "Dockerfile").write_text("FROM y\n")
    assert hashing.input_hash(img, "parent1") != first


def test_child_hashes_change_with_the_base(monkeypatch: pytest.MonkeyPatch) -> None:
    before = hashes(list(IMAGES.values()))
    monkeypatch.setattr(hashing, "GENERATORS", {**hashing.GENERATORS, "base": ("base.py", "build.py")})
    after = hashes(list(IMAGES.values()))
    assert all(after[name] != before[name] for name in IMAGES), "every image derives from base"
    assert len(set(before.values())) == len(IMAGES)
