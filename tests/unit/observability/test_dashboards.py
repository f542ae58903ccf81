"""Grafana dashboards: built with grafana-foundation-sdk; every panel's PromQL parses (promtool)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from infra.configfile import to_yaml
from infra.observability.dashboards import DATASOURCE_UID, dashboards, panel_queries
from infra.observability.files import grafana_files
from infra.spec import Platform
from tests.support.monitoring_tools import run

# Grafana's variables, replaced by what Grafana would put there before promtool parses.
GRAFANA_VARS = {"$__rate_interval": "1m", "$__range": "1h", "$__interval": "15s"}
SEED_002_PANELS = 12


def as_promql(expr: str) -> str:
    for var, value in GRAFANA_VARS.items():
        expr = expr.replace(var, value)
    return expr


def recording_rules(platform: Platform) -> dict:
    rules = [
        {"record": f"panel:{name}:{i}", "expr": as_promql(expr)}
        for name, board in dashboards(platform).items()
        for i, (_title, expr) in enumerate(panel_queries(board))
    ]
    return {"groups": [{"name": "dashboard-queries", "rules": rules}]}


def test_every_panel_query_parses(gpu_host: Platform, promtool: str, tmp_path: Path) -> None:
    doc = recording_rules(gpu_host)
    path = tmp_path / "panels.yml"
    path.write_text(to_yaml(doc))
    done = run(promtool, "check", "rules", path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{len(doc['groups'][0]['rules'])} rules found" in done.stdout


def test_promtool_rejects_a_broken_query(promtool: str, tmp_path: Path) -> None:
    """The parse check can fail: a query with a dangling operator is refused."""
    path = tmp_path / "bad.yml"
    path.write_text(to_yaml({"groups": [{"name": "g", "rules": [{"record": "x:y", "expr": "sum(rate(x[5m])) /"}]}]}))
    assert run(promtool, "check", "rules", path).returncode != 0


def test_seed_panels_plus_gpu_and_gateway(gpu_host: Platform) -> None:
    boards = dashboards(gpu_host)
    inference = [p["title"] for p in boards["inference"]["panels"]]
    assert len(inference) == SEED_002_PANELS + 2
    assert any("failover" in t.lower() for t in inference)
    assert any("deployment state" in t.lower() for t in inference)
    gpu = " ".join(json.dumps(p) for p in boards["gpu"]["panels"])
    for metric in ("DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_GPU_TEMP"):
        assert metric in gpu


def test_panels_use_the_provisioned_datasource_and_unique_ref_ids(gpu_host: Platform) -> None:
    for board in dashboards(gpu_host).values():
        assert board["uid"].startswith("inferops-")
        for panel in board["panels"]:
            refs = [t["refId"] for t in panel["targets"]]
            assert len(set(refs)) == len(refs) and all(refs)
            assert all(t["datasource"]["uid"] == DATASOURCE_UID for t in panel["targets"])


@pytest.mark.parametrize("kind", ["datasources", "dashboards"])
def test_grafana_provisioning(kind: str, gpu_host: Platform) -> None:
    files = {f.path: f for f in grafana_files(gpu_host)}
    assert f"/etc/grafana/provisioning/{kind}/inferops.yml" in files
    datasource = files["/etc/grafana/provisioning/datasources/inferops.yml"].content()
    assert f"uid: {DATASOURCE_UID}" in datasource
    assert "url: http://prometheus:9090" in datasource
    assert {"/etc/grafana/dashboards/inference.json", "/etc/grafana/dashboards/gpu.json"} <= set(files)
