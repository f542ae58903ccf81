"""Engine helpers: a clear error without an engine; only our own dockerd is ever stopped."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from infra.docker import daemon
from infra.live import compose
from infra.spec import load_platform


def test_no_engine_error_says_how_to_start_one(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/none.sock")
    with pytest.raises(daemon.EngineMissing) as err:
        daemon.docker_client(timeout=2)
    assert "none.sock" in str(err.value) and "dockerd" in str(err.value)


def test_stop_leaves_a_process_that_is_not_dockerd(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    pid_file = tmp_path / "dockerd.pid"
    pid_file.write_text(f"{os.getpid()}\n")
    monkeypatch.setattr(daemon, "PID_FILE", pid_file)
    assert daemon.stop_started_engine(say=lambda _msg: None) is False
    assert not pid_file.exists()  # the stale record is dropped; this process is still alive


def test_compose_binary_is_compose_v2() -> None:
    import subprocess

    out = subprocess.run([compose.compose_binary(), "version"], capture_output=True, text=True, check=True).stdout
    assert "v2." in out


def test_wait_timeout_covers_every_wave() -> None:
    platform = load_platform("local")
    slowest = max(s.health.ready_within_s for s in platform.enabled())
    assert compose.wait_timeout_s(platform) >= slowest


def test_export_writes_compose_and_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import yaml

    monkeypatch.setattr(compose, "EXPORT_ROOT", tmp_path)
    monkeypatch.setenv("INFEROPS_GATEWAYMASTERKEY", "test-key-not-secret")
    platform = load_platform("local")
    path = compose.export(platform)
    services = yaml.safe_load(path.read_text())["services"]
    assert set(services) == {s.name for s in platform.enabled()}
