"""`invoke images.*`: build the local stack's images without any registry, cached by input hash."""

from __future__ import annotations

from invoke import Context

from infra.cli.guard import task


@task(
    help={
        "only": "comma-separated image names (their parent is built too); default: all",
        "force": "rebuild even when the hash tag exists",
    }
)
def build(c: Context, only: str | None = None, force: bool = False) -> None:
    """Build the images of infra/images/catalog.py (base first; skips unchanged ones by input hash)."""
    from infra.docker.daemon import ensure_engine
    from infra.images.build import build_images

    ensure_engine()
    build_images(only=only, force=force)


@task(name="list")
def list_(c: Context) -> None:
    """Show each image, its input-hash tag and whether that tag is present in the engine."""
    from rich.console import Console
    from rich.table import Table

    from infra.docker.daemon import docker_client
    from infra.images.build import hashes
    from infra.images.catalog import IMAGES

    client = docker_client()
    present = {tag for image in client.images.list() for tag in image.tags}
    table = Table(title="images")
    for col in ("name", "hash tag", "built", "what"):
        table.add_column(col)
    for name, digest in hashes(list(IMAGES.values())).items():
        img = IMAGES[name]
        ref = f"{img.repo}:{digest}"
        table.add_row(name, ref, "yes" if ref in present else "[yellow]no[/]", img.summary)
    Console().print(table)
