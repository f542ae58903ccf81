"""The monitoring builds: versions read from the wrapper go.mod files, the built binaries report
the pinned versions and are static, and without Go Debian's packages stand in and say so."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from infra.engine.tools import required_versions
from infra.errors import ExitCode
from infra.images import gotools
from infra.images.build import Builder
from infra.images.catalog import IMAGES
from infra.images.hashing import input_hash
from infra.monitoring import build
from infra.monitoring.build import MonitoringGoMissing, build_monitoring, ensure_monitoring, reported_version
from infra.monitoring.tools import BY_NAME, PROMTOOL, TOOLS, module_version, pinned_release, prometheus_release
from tests.support.monitoring_tools import FallbackInUse, monitoring_tool, require_pinned, use

ROOT = Path(__file__).resolve().parents[3]
NAMES = tuple(BY_NAME)
NO_GO = "Go is not installed (no `go` on PATH): this test's stand-in reason"


def test_prometheus_release_of_its_module_version() -> None:
    assert prometheus_release("v0.307.3") == "3.7.3"
    assert prometheus_release("v0.310.12") == "3.10.12"
    with pytest.raises(ValueError, match="not a Prometheus 3"):
        prometheus_release("v0.42.0")  # the 2.x-era numbering


@pytest.mark.skipif(shutil.which("go") is None, reason="no Go: nothing to compare the text parse with")
def test_module_versions_read_as_go_reads_them() -> None:
    for tool in TOOLS:
        assert module_version(tool) == required_versions(tool.module_dir)[tool.module]


def test_prometheus_graph_keeps_its_own_alertmanager_library() -> None:
    """Why two wrapper modules: Prometheus 3.7.3 is built against the Alertmanager library it
    released with, not against the Alertmanager server the stack runs."""
    prometheus_mod = (BY_NAME["prometheus"].module_dir / "go.mod").read_text()
    assert "github.com/prometheus/alertmanager v0.28.1" in prometheus_mod
    assert module_version(BY_NAME["alertmanager"]) == "v0.30.0"


@pytest.mark.monitoring_tools(*NAMES)
@pytest.mark.parametrize("name", NAMES)
def test_built_binary_reports_the_pinned_version_and_is_static(name: str) -> None:
    found = require_pinned(name)
    assert reported_version(found.path) == pinned_release(found.tool)
    head = found.path.read_bytes()[:8192]
    assert head.startswith(b"\x7fELF") and b"ld-linux" not in head, "dynamically linked: the images cannot copy it"


def test_without_go_debian_stands_in_and_says_so(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    if shutil.which("promtool") is None:
        pytest.skip("Debian's promtool is not installed (scripts/install-system-deps)")
    monkeypatch.setattr(build, "go_missing", lambda: NO_GO)
    (found,) = ensure_monitoring([PROMTOOL], bin_dir=tmp_path, say=pytest.fail)
    assert not found.built and found.path == Path(str(shutil.which("promtool")))
    assert found.version.startswith("2.")
    assert found.note.startswith(f"FALLBACK: Debian's promtool {found.version} instead of promtool 3.7.3")
    assert NO_GO in found.note
    with pytest.raises(MonitoringGoMissing) as err:
        build_monitoring(tmp_path)
    assert err.value.exit_code == ExitCode.MISSING
    assert list(tmp_path.iterdir()) == [], "nothing built or written without Go"


def test_build_task_without_go_exits_3_saying_what_to_install() -> None:
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}/usr/bin{os.pathsep}/bin")
    invoke = Path(sys.executable).with_name("invoke")
    done = subprocess.run(
        [str(invoke), "observability.build-tools"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == ExitCode.MISSING, done.stdout + done.stderr
    assert "Go is not installed" in done.stderr and "Debian's older packages stand in" in done.stderr
    assert "Traceback" not in done.stderr


def test_image_inputs_change_when_the_fallback_replaces_the_build(monkeypatch: pytest.MonkeyPatch) -> None:
    """An image built without Go is rebuilt once Go is there (and the other way round)."""
    with_go = {name: input_hash(IMAGES[name], "parent") for name in ("prometheus", "alertmanager", "alert-sink")}
    monkeypatch.setattr(build, "go_missing", lambda: NO_GO)
    without = {name: input_hash(IMAGES[name], "parent") for name in with_go}
    assert with_go["prometheus"] != without["prometheus"] and with_go["alertmanager"] != without["alertmanager"]
    assert with_go["alert-sink"] == without["alert-sink"]


def test_fallback_stages_only_the_reason_and_says_it_at_build_time(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The host needs no Debian package for this: the image installs Debian's inside."""
    monkeypatch.setattr(build, "go_missing", lambda: NO_GO)
    console = Console(record=True, width=300)
    Builder(client=None, console=console).prepare(IMAGES["prometheus"], tmp_path, tick=lambda line: None)
    assert sorted(p.name for p in (tmp_path / "bin").iterdir()) == [gotools.FALLBACK_MARKER]
    text = (tmp_path / "bin" / gotools.FALLBACK_MARKER).read_text()
    assert text.startswith(f"FALLBACK: Debian's prometheus instead of prometheus 3.7.3. {NO_GO}\n")
    assert "FALLBACK: Debian's promtool instead of promtool 3.7.3" in text
    shown = console.export_text()
    assert f"prometheus: FALLBACK: Debian's prometheus instead of prometheus 3.7.3. {NO_GO}" in shown
    assert "Dockerfile" in [p.name for p in tmp_path.iterdir()]


@pytest.mark.monitoring_tools("prometheus", "promtool")
def test_build_stages_the_pinned_binaries(tmp_path: Path) -> None:
    for name in ("prometheus", "promtool"):
        require_pinned(name)
    gotools.add_go_tools(IMAGES["prometheus"], tmp_path, say=pytest.fail)
    staged = tmp_path / "bin"
    assert sorted(p.name for p in staged.iterdir()) == ["prometheus", "promtool"]
    assert reported_version(staged / "prometheus") == pinned_release(BY_NAME["prometheus"])


@pytest.fixture
def no_go(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """This machine as one without Go, for the tests' tool lookup (its cache cleared both ways)."""
    monitoring_tool.cache_clear()
    monkeypatch.setattr(build, "go_missing", lambda: NO_GO)
    yield
    monitoring_tool.cache_clear()


def test_rule_tests_on_the_fallback_warn_and_version_tests_skip(no_go: None) -> None:
    if shutil.which("promtool") is None:
        pytest.skip("Debian's promtool is not installed (scripts/install-system-deps)")
    with pytest.warns(FallbackInUse, match=r"FALLBACK: Debian's promtool 2\.\S+ instead of promtool 3\.7\.3"):
        assert use("promtool") == shutil.which("promtool")
    with pytest.raises(pytest.skip.Exception, match="FALLBACK: Debian's promtool"):
        require_pinned("promtool")
