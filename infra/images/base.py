"""The base image: a minimal Debian bookworm root filesystem, imported into Docker (no registry).

`debootstrap --variant=minbase` gives the smallest system apt still works in. Docs, man pages
and locales are removed, and dpkg is told to keep skipping them, so images built on top stay
small too. apt inside `docker build` then installs packages from Debian's mirror as usual.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
from pathlib import Path

from infra.errors import Failed
from infra.images.prepare import PrepareError, Tick, run_logged

SUITE = "bookworm"
MIRROR = "http://deb.debian.org/debian"
TRIM = ("usr/share/doc", "usr/share/man", "usr/share/info", "usr/share/locale", "usr/share/lintian")
DPKG_EXCLUDES = """\
path-exclude=/usr/share/doc/*
path-exclude=/usr/share/man/*
path-exclude=/usr/share/info/*
path-exclude=/usr/share/locale/*
path-exclude=/usr/share/lintian/*
"""
APT_CONF = """\
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Languages "none";
"""
CHANGES = ("ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", 'CMD ["/bin/bash"]')


class BaseBuildError(Failed, RuntimeError):
    """debootstrap is missing or failed; the message says how to fix it."""


def ensure_debootstrap() -> str:
    """Path of debootstrap, installing the Debian package when it is missing (apt only)."""
    path = shutil.which("debootstrap")
    if path:
        return path
    if shutil.which("apt-get") is None:
        raise BaseBuildError("debootstrap is not installed and this is not a Debian-like host; install debootstrap")
    subprocess.run(["apt-get", "install", "-y", "debootstrap"], check=True, capture_output=True)
    return shutil.which("debootstrap") or "/usr/sbin/debootstrap"


def debootstrap(rootfs: Path, log: Path, tick: Tick | None = None) -> None:
    """Create the root filesystem in `rootfs` (replacing it), logging debootstrap's output."""
    if rootfs.exists():
        shutil.rmtree(rootfs)
    rootfs.parent.mkdir(parents=True, exist_ok=True)
    cmd = [ensure_debootstrap(), "--variant=minbase", SUITE, str(rootfs), MIRROR]
    try:
        run_logged(cmd, log, "debootstrap", tick=tick)
    except PrepareError as err:
        raise BaseBuildError(str(err)) from None


def trim(rootfs: Path) -> None:
    """Remove docs/man/locales and apt caches; keep dpkg from installing them again."""
    for rel in TRIM:
        target = rootfs / rel
        if target.is_dir():
            shutil.rmtree(target)
            target.mkdir()
    for rel in ("var/cache/apt/archives", "var/lib/apt/lists"):
        for entry in (rootfs / rel).glob("*"):
            if entry.is_file():
                entry.unlink()
    (rootfs / "etc/dpkg/dpkg.cfg.d/01-inferops-nodoc").write_text(DPKG_EXCLUDES)
    (rootfs / "etc/apt/apt.conf.d/01-inferops-minimal").write_text(APT_CONF)
    # As Debian's own container images do: package scripts must not try to start services.
    policy = rootfs / "usr/sbin/policy-rc.d"
    policy.write_text("#!/bin/sh\nexit 101\n")
    policy.chmod(0o755)


def rootfs_tar(rootfs: Path) -> bytes:
    """The root filesystem as an uncompressed tar archive (numeric owners, as `docker import` expects)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for entry in sorted(rootfs.iterdir()):
            tar.add(entry, arcname=entry.name)
    return buf.getvalue()


def import_rootfs(client: object, rootfs: Path, ref: str) -> None:
    """`docker import` the tree as `ref`, with PATH and a default command set."""
    repo, _, tag = ref.rpartition(":")
    client.api.import_image_from_data(rootfs_tar(rootfs), repository=repo, tag=tag, changes=list(CHANGES))  # type: ignore[attr-defined]
