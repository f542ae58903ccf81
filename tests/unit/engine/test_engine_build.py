"""The engine tool build: versions from go.mod, cache by stamp, a plain message without Go."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from infra.engine import build
from infra.engine.tools import CLI, KUBERNETES, TOOLS, required_versions

needs_go = pytest.mark.skipif(shutil.which("go") is None, reason="go is not installed")


def pinned(package: str) -> str:
    """The version pyproject pins for a Python package (`name==x.y.z`)."""
    import tomllib

    deps = tomllib.loads((Path(__file__).parents[3] / "pyproject.toml").read_text())["project"]["dependencies"]
    return next(d.split("==")[1] for d in deps if d.split("==")[0] == package)


@needs_go
def test_every_tool_module_is_required_by_its_wrapper() -> None:
    missing = [t.module for t in TOOLS if t.module not in required_versions(t.module_dir)]
    assert not missing, f"tools/pulumi/go.mod does not require {missing}"


def semver(pep440: str) -> str:
    """A PyPI version as the plugin version Pulumi's wheels carry (4.25.0a17 -> 4.25.0-alpha.17)."""
    from packaging.version import Version

    v = Version(pep440)
    base = ".".join(map(str, v.release))
    if v.pre is None:
        return base
    label = {"a": "alpha", "b": "beta", "rc": "rc"}[v.pre[0]]
    return f"{base}-{label}.{v.pre[1]}"


@needs_go
def test_cli_is_the_python_sdk_version() -> None:
    assert required_versions()[CLI.module] == f"v{pinned('pulumi')}"


@needs_go
def test_provider_stamp_is_the_python_sdk_version() -> None:
    """The Python SDK asks the engine for exactly this plugin version; the build stamps it."""
    module_version = required_versions(KUBERNETES.module_dir)[KUBERNETES.module]
    assert KUBERNETES.stamp(module_version) == semver(pinned("pulumi-kubernetes"))


def test_provider_alpha_number_is_the_commit_time_of_the_pseudo_version() -> None:
    from datetime import UTC, datetime

    for pseudo, upstream in KUBERNETES.commit_versions:
        commit_time = datetime.strptime(pseudo.split("-")[1], "%Y%m%d%H%M%S").replace(tzinfo=UTC)
        assert upstream.endswith(f"-alpha.{int(commit_time.timestamp())}")


@needs_go
def test_cli_and_sdk_modules_share_a_version() -> None:
    """pkg/v3 replaces sdk/v3 with ../sdk upstream; the wrapper requires the same published version."""
    versions = required_versions()
    assert versions["github.com/pulumi/pulumi/sdk/v3"] == versions[CLI.module]


@needs_go
def test_provider_gets_the_pulumi_version_its_own_go_mod_names() -> None:
    """The provider does not compile against the CLI's pkg/v3, so its wrapper keeps its own graph."""
    provider = build.module_dir_of(
        KUBERNETES.module, required_versions(KUBERNETES.module_dir)[KUBERNETES.module], KUBERNETES.module_dir
    )
    own = required_versions(provider)
    wrapper = required_versions(KUBERNETES.module_dir)
    assert wrapper.get("github.com/pulumi/pulumi/pkg/v3") == own["github.com/pulumi/pulumi/pkg/v3"]


def test_stamps_follow_upstream_conventions() -> None:
    assert CLI.stamp("v3.274.1") == "v3.274.1"  # goreleaser stamps the tag
    assert KUBERNETES.stamp("v4.34.2") == "4.34.2"  # pulumictl get version, no `v`
    assert semver("4.25.0a1768448096") == "4.25.0-alpha.1768448096" and semver("4.34.2") == "4.34.2"


def test_second_build_is_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[list[str]] = []

    def fake_go(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
        calls.append(args)
        Path(args[args.index("-o") + 1]).write_bytes(b"binary")
        return ""

    monkeypatch.setattr(build, "run_go", fake_go)
    first = build.build_tool(CLI, "v3.274.1", "go1.26.8", tmp_path, tmp_path / "bin")
    second = build.build_tool(CLI, "v3.274.1", "go1.26.8", tmp_path, tmp_path / "bin")
    assert (first.cached, second.cached) == (False, True)
    assert len(calls) == 1
    ldflags = calls[0][calls[0].index("-ldflags") + 1]
    assert f"-X {CLI.version_var}=v3.274.1" in ldflags


def test_new_version_rebuilds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    CLI.binary(bin_dir).write_bytes(b"old")
    build.stamp_path(CLI, bin_dir).write_text(json.dumps(build.wanted_stamp(CLI, "v3.260.0", "go1.26.8")))
    assert not build.is_cached(CLI, build.wanted_stamp(CLI, "v3.274.1", "go1.26.8"), bin_dir)
    assert build.is_cached(CLI, build.wanted_stamp(CLI, "v3.260.0", "go1.26.8"), bin_dir)


def test_missing_go_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(build.shutil, "which", lambda name: None)
    with pytest.raises(build.GoMissing) as info:
        build.check_go()
    message = str(info.value)
    assert "Go is not installed" in message
    assert build.wanted_go() in message and "invoke engine.build" in message
