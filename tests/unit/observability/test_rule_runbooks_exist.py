"""Every `invoke runbook.<name>` an alert rule names (and so its docs/alerts page) is a real task."""

from __future__ import annotations

import importlib

import pytest

from infra.observability.rules import GROUPS


def runbook_tasks() -> set[str]:
    """Task names of the `runbook` collection of the invoke root (`tasks.py`'s `ns`)."""
    root = importlib.import_module("tasks").ns
    return set(root.collections["runbook"].task_names)


@pytest.mark.parametrize("rule", [r for g in GROUPS for r in g.rules], ids=lambda r: f"{r.alert}-{r.severity}")
def test_rule_runbook_is_an_invoke_task(rule) -> None:
    tasks = runbook_tasks()
    assert rule.runbook in tasks, (
        f"alert {rule.alert} points at `invoke runbook.{rule.runbook}`, which does not exist; "
        f"runbook tasks: {', '.join(sorted(tasks))}"
    )


def test_the_check_can_fail() -> None:
    assert "daily-check" in runbook_tasks() and "no-such-runbook" not in runbook_tasks()
