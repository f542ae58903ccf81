"""`invoke images.*`: build the local stack's images without any registry, cached by input hash."""

from __future__ import annotations

from invoke import Context, Exit, task


@task(
    help={
        "only": "comma-separated image names (their parent is built too); default: all",
        "force": "rebuild even when the hash tag exists",
    }
)
def build(c: Context, only: str | None = None, force: bool = False) -> None:
    """Build the images of infra/images/catalog.py (base first; skips unchanged ones by input hash)."""
    from infra.images.build import ImageBuildError, build_images
    from infra.images.catalog import UnknownImage
    from infra.live.engine import EngineMissing

    try:
        build_images(only=only, force=force)
    except (UnknownImage, EngineMissing) as err:
        raise Exit(str(err), code=2) from None
    except ImageBuildError as err:
        raise Exit(f"image build failed: {err}", code=1) from None


@task(name="list")
def list_(c: Context) -> None:
    """Show each image, its input-hash tag and whether that tag is present in the engine."""
    from rich.console import Console
    from rich.table import Table

    from infra.images.build import hashes
    from infra.images.catalog import IMAGES
    from infra.live.engine import EngineMissing, docker_client

    try:
        client = docker_client()
    except EngineMissing as err:
        raise Exit(str(err), code=2) from None
    present = {tag for image in client.images.list() for tag in image.tags}
    table = Table(title="images")
    for col in ("name", "hash tag", "built", "what"):
        table.add_column(col)
    for name, digest in hashes(list(IMAGES.values())).items():
        img = IMAGES[name]
        ref = f"{img.repo}:{digest}"
        table.add_row(name, ref, "yes" if ref in present else "[yellow]no[/]", img.summary)
    Console().print(table)
