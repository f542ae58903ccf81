"""One source for each version: the stacks' image pins and what is built and tested here agree,
or infra/images/versions.py DIFFERENCES says why, and a pin moved on one side alone fails here."""

from __future__ import annotations

from infra.images.versions import DIFFERENCES, Pairing, drift, pairings
from infra.spec.defaults import DEFAULT_IMAGES


def test_deployed_and_tested_versions_agree_or_say_why() -> None:
    assert drift() == []


def test_monitoring_is_tested_at_the_deployed_versions() -> None:
    rows = {row.component: row for row in pairings()}
    assert (rows["prometheus"].deployed, rows["prometheus"].tested) == ("3.7.3", "3.7.3")
    assert (rows["alertmanager"].deployed, rows["alertmanager"].tested) == ("0.30.0", "0.30.0")
    assert "prometheus" not in DIFFERENCES and "alertmanager" not in DIFFERENCES


def test_a_pin_moved_on_one_side_alone_fails() -> None:
    moved = pairings({**DEFAULT_IMAGES, "prometheus": "prom/prometheus:v3.8.1"})
    (problem,) = drift(moved)
    assert problem.startswith("prometheus: the stacks deploy 3.8.1") and "3.7.3 is built and tested here" in problem


def test_a_stale_reason_fails() -> None:
    rows = [Pairing("litellm", "ghcr.io/berriai/litellm:v1.108.7", "1.108.7", "1.108.7", "catalog")]
    assert drift(rows) == ["litellm: both sides are 1.108.7 now; drop its DIFFERENCES entry"]
