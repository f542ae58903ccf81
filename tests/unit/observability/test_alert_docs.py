"""Every alert has docs/alerts/<Alert>.md naming the runbook its rule points at."""

from __future__ import annotations

import pytest

from infra.observability.rules import ALERT_NAMES, GROUPS, runbook_url
from infra.spec import Platform
from infra.spec.stackconfig import ROOT

RUNBOOKS = {"health", "restart", "failover-test", "gpu-layers", "reload", "qdrant-backup", "qdrant-restore",
            "daily-check", "watch"}  # fmt: skip


@pytest.mark.parametrize("alert", sorted(ALERT_NAMES))
def test_alert_doc_names_its_runbook(alert: str, gpu_host: Platform) -> None:
    doc = ROOT / "docs" / "alerts" / f"{alert}.md"
    assert doc.is_file(), f"write {doc.relative_to(ROOT)}"
    text = doc.read_text()
    runbooks = {r.runbook for g in GROUPS for r in g.rules if r.alert == alert}
    assert runbooks <= RUNBOOKS
    for name in runbooks:
        assert f"invoke runbook.{name}" in text
    for heading in ("## What it means", "## How to confirm", "## What to run"):
        assert heading in text
    assert runbook_url(gpu_host, alert).endswith(f"docs/alerts/{alert}.md")


def test_every_rule_is_located_and_linked() -> None:
    for group in GROUPS:
        for rule in group.rules:
            cluster_wide = rule.expr.startswith("sum(")  # one series per cluster: nothing to locate
            assert cluster_wide or "{{ $labels." in rule.description, rule.alert
            assert rule.severity in ("critical", "warning", "info")
            assert rule.exporter
