"""`invoke observability.export`: the files the targets mount, secrets redacted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from infra.observability.export import export_files
from infra.observability.files import observability_files
from infra.spec import Platform
from infra.spec.stackconfig import ROOT


def test_export_writes_the_mounted_content(gpu_host: Platform, tmp_path: Path) -> None:
    result = export_files(gpu_host, tmp_path)
    names = sorted(str(p.relative_to(tmp_path)) for p in result.written)
    assert "prometheus.yml" in names and "alertmanager.yml" in names
    assert {"rules/gpu.yml", "rules/inference.yml", "rules/host.yml", "rules/cost.yml"} <= set(names)
    assert {"dashboards/inference.json", "dashboards/gpu.json"} <= set(names)
    mounted = {f.path: f for f in observability_files(gpu_host)}
    assert (tmp_path / "rules/gpu.yml").read_text() == mounted["/etc/prometheus/rules/gpu.yml"].content()
    assert result.skipped == ["/etc/prometheus/secrets/gateway-master-key"]


def test_export_never_writes_a_secret(gpu_host: Platform, tmp_path: Path) -> None:
    export_files(gpu_host, tmp_path)
    text = "".join(p.read_text() for p in tmp_path.rglob("*") if p.is_file())
    assert "redacted.invalid/alertSlackWebhookUrl" in text
    assert "hooks.slack.com" not in text


def test_invoke_task(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "invoke", "observability.export", "--stack", "local", "--out", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "alertmanager.yml").is_file()
    assert str(tmp_path / "prometheus.yml") in done.stdout
