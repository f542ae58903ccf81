"""`inferops:alerting.rule_for` shortens or lengthens a rule's `for:`; a name that is no alert is
bad config, named with its key before anything is rendered or deployed."""

from __future__ import annotations

import pytest

from infra.observability.rules import ALERT_NAMES, rule_files
from infra.spec import ConfigError
from infra.spec.stackconfig import platform_from_config, read_stack_config


def _local_with(rule_for: dict[str, str]):
    raw = read_stack_config("local")
    raw["alerting"] = {**raw.get("alerting", {}), "rule_for": rule_for}
    return platform_from_config("local", raw, source="stacks/Pulumi.local.yaml")


def test_an_unknown_alert_is_named_with_its_key() -> None:
    with pytest.raises(ConfigError) as info:
        rule_files(_local_with({"ServiceDwn": "1m"}))
    assert info.value.keys == ["inferops:alerting.rule_for.ServiceDwn"]
    assert "ServiceDown" in str(info.value)  # the known names are listed


def test_a_known_alert_gets_its_duration() -> None:
    assert "ServiceDown" in ALERT_NAMES
    text = "".join(rule_files(_local_with({"ServiceDown": "30s"})).values())
    assert "for: 30s" in text


def test_a_bad_duration_is_refused_by_the_spec() -> None:
    with pytest.raises(ConfigError, match="not a Prometheus duration"):
        _local_with({"ServiceDown": "soon"})
