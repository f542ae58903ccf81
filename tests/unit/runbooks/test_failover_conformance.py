"""Telling from a drill's figures whether the gateway cooled the faulted primary down."""

from __future__ import annotations

from typing import Any

from runbooks.failover.conformance import fallback_allowance, primary_cooled_down


def _figures(fell_back: int, window_s: float = 7.0, fallbacks: int | None = 0) -> dict[str, Any]:
    samples = [{"ok": True, "fallbacks": fallbacks}] * 14
    return {"fault_at_s": 4.0, "back_at_s": 4.0 + window_s, "samples": samples,
            "failover": {"during": {"fell_back": fell_back, "requests": 14}}}  # fmt: skip


def test_first_request_and_one_per_cooldown_expiry_may_fall_back() -> None:
    assert fallback_allowance(_figures(0, window_s=7.0), cooldown_s=5.0) == 3
    assert fallback_allowance(_figures(0, window_s=4.9), cooldown_s=5.0) == 2


def test_a_gateway_that_keeps_trying_the_failed_primary_is_told_apart() -> None:
    assert primary_cooled_down(_figures(2), 5.0) is True
    assert primary_cooled_down(_figures(12), 5.0) is False  # #27362 / #38968: nearly every request


def test_no_verdict_without_the_window_or_the_header() -> None:
    unfinished = {**_figures(0), "back_at_s": None}
    assert fallback_allowance(unfinished, 5.0) is None and primary_cooled_down(unfinished, 5.0) is None
    assert primary_cooled_down(_figures(0, fallbacks=None), 5.0) is None  # answers did not say
