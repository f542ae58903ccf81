"""The exported systemd files: a oneshot cycle on the stack's interval, secrets only by EnvironmentFile;
`systemd-analyze verify` checks them where it is installed."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from runbooks.watch.units import unit_files, write_units
from tests.unit.watch.servers import watch_platform


def test_service_and_timer_content(tmp_path: Path) -> None:
    files = unit_files(watch_platform({"interval_s": 120}), Path("/opt/inferops"), Path("/opt/inferops/.venv"))
    service, timer = files["inferops-watch.service"], files["inferops-watch.timer"]
    assert "Type=oneshot" in service
    assert "ExecStart=/opt/inferops/.venv/bin/invoke runbook.watch --once --stack unit" in service
    assert "EnvironmentFile=-/etc/inferops/watch.env" in service and "INFEROPS_ALERT" not in service.split("#")[0]
    assert "OnUnitActiveSec=120s" in timer and "Unit=inferops-watch.service" in timer
    assert "WantedBy=timers.target" in timer


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed here")
def test_systemd_analyze_verify(tmp_path: Path) -> None:
    venv = Path(sys.executable).parent.parent  # a venv that has invoke
    paths = write_units(watch_platform(), tmp_path, Path(__file__).resolve().parents[3], venv, "root")
    done = subprocess.run(["systemd-analyze", "verify", *map(str, paths)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "inferops-watch" not in done.stderr, done.stderr
