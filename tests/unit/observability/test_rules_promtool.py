"""Every alert rule: `promtool check rules`, and `promtool test rules` firing and quiet cases.

The test files in rule_tests/ hold the input series, the expected labels and the expected
`description` (the templated text, written by hand). The static annotations (summary,
runbook, runbook_url) are filled in from rules.py before promtool runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.observability.rules import GROUPS, AlertRule, rule_dict, rule_files
from infra.spec import Platform, load_platform
from tests.support.monitoring_tools import run

TESTS_DIR = Path(__file__).parent / "rule_tests"
TEST_FILES = sorted(TESTS_DIR.glob("*.test.yml"))


def _rule(alert: str, severity: str) -> AlertRule:
    for group in GROUPS:
        for rule in group.rules:
            if rule.alert == alert and rule.severity == severity:
                return rule
    raise AssertionError(f"no rule {alert} with severity {severity}")


def complete(platform: Platform, doc: dict[str, Any], rule_names: list[str]) -> dict[str, Any]:
    """The test file with all rule files loaded and the static annotations filled in."""
    doc = {**doc, "rule_files": rule_names}
    for case in doc["tests"]:
        for check in case.get("alert_rule_test", []):
            for alert in check.get("exp_alerts") or []:
                rule = _rule(check["alertname"], alert["exp_labels"]["severity"])
                static = {k: v for k, v in rule_dict(platform, rule)["annotations"].items() if k != "description"}
                alert["exp_annotations"] = {**static, **alert.get("exp_annotations", {})}
    return doc


def cases(path: Path) -> tuple[set[tuple[str, str]], set[str]]:
    """(alert, severity) pairs expected to fire, and alert names expected quiet at some point."""
    firing: set[tuple[str, str]] = set()
    quiet: set[str] = set()
    for case in yaml.safe_load(path.read_text())["tests"]:
        for check in case.get("alert_rule_test", []):
            alerts = check.get("exp_alerts") or []
            if not alerts:
                quiet.add(check["alertname"])
            firing.update((check["alertname"], a["exp_labels"]["severity"]) for a in alerts)
    return firing, quiet


def write_rules(platform: Platform, out: Path) -> list[str]:
    files = rule_files(platform)
    for name, text in files.items():
        (out / name).write_text(text)
    return sorted(files)


def test_every_rule_has_firing_and_quiet_cases() -> None:
    firing: set[tuple[str, str]] = set()
    quiet: set[str] = set()
    for path in TEST_FILES:
        f, q = cases(path)
        firing |= f
        quiet |= q
    rules = {(r.alert, r.severity) for g in GROUPS for r in g.rules}
    assert rules - firing == set(), "rules without a firing test case"
    assert {a for a, _ in rules} - quiet == set(), "alerts without a quiet test case"


@pytest.mark.parametrize("stack", ["gpu-host", "local"])
def test_promtool_check_rules(stack: str, promtool: str, tmp_path: Path) -> None:
    names = write_rules(load_platform(stack), tmp_path)
    done = run(promtool, "check", "rules", *(tmp_path / n for n in names))
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("SUCCESS") == len(GROUPS)


@pytest.mark.parametrize("test_file", TEST_FILES, ids=lambda p: p.name)
def test_promtool_unit_tests(test_file: Path, gpu_host: Platform, promtool: str, tmp_path: Path) -> None:
    """Production timings (gpu-host uses the defaults): the `for:` windows the seeds ask for."""
    names = write_rules(gpu_host, tmp_path)
    doc = complete(gpu_host, yaml.safe_load(test_file.read_text()), names)
    target = tmp_path / test_file.name
    target.write_text(yaml.safe_dump(doc, sort_keys=False))
    done = run(promtool, "test", "rules", target.name, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout + done.stderr


def test_promtool_unit_test_catches_a_wrong_expectation(gpu_host: Platform, promtool: str, tmp_path: Path) -> None:
    """The harness can fail: a wrong expected description makes promtool report a failure."""
    names = write_rules(gpu_host, tmp_path)
    doc = complete(gpu_host, yaml.safe_load((TESTS_DIR / "gpu.test.yml").read_text()), names)
    doc["tests"][0]["alert_rule_test"][1]["exp_alerts"][0]["exp_annotations"]["description"] = "wrong"
    (tmp_path / "broken.test.yml").write_text(yaml.safe_dump(doc))
    done = run(promtool, "test", "rules", "broken.test.yml", cwd=tmp_path)
    assert done.returncode != 0
    assert "FAILED" in done.stdout + done.stderr
