"""Telling from a drill's figures whether the gateway cooled the faulted primary down."""

from __future__ import annotations

from typing import Any

from runbooks.failover.conformance import fallback_allowance, primary_cooled_down


def _figures(paid: list[bool], latency_s: float = 0.05, rate: float = 2.0) -> dict[str, Any]:
    """Requests at `rate` from the fault (t=4) on, `paid[i]`: the i-th fell back after `latency_s`."""
    samples = [{"sent_s": 4.0 + i / rate, "latency_s": latency_s if fell else 0.04, "ok": True,
                "fallbacks": int(fell)} for i, fell in enumerate(paid)]  # fmt: skip
    back_at = 4.0 + len(paid) / rate
    return {"fault_at_s": 4.0, "back_at_s": back_at, "samples": samples,
            "failover": {"during": {"fell_back": sum(paid), "requests": len(paid)}}}  # fmt: skip


def test_a_refused_connection_allows_the_first_and_one_per_cooldown_expiry() -> None:
    figures = _figures([True] + [False] * 13)  # 7 s of window, seen at once
    assert fallback_allowance(figures, cooldown_s=5.0) == 1 + 1 + 1  # the first, one in flight, one expiry
    assert primary_cooled_down(figures, 5.0) is True


def test_a_hang_allows_what_was_sent_before_the_first_timeout_came_back() -> None:
    # an attempt times out after 5 s: the 10 requests sent meanwhile all went to the primary
    paid = [True] * 10 + [False] * 13
    figures = _figures(paid, latency_s=5.05)
    assert fallback_allowance(figures, 5.0) == 11 + 1 + 1
    assert primary_cooled_down(figures, 5.0) is True


def test_a_gateway_that_keeps_trying_the_failed_primary_is_told_apart() -> None:
    assert primary_cooled_down(_figures([True] * 14), 5.0) is False  # #27362 / #38968: every request
    assert primary_cooled_down(_figures([True] * 23, latency_s=5.05), 5.0) is False


def test_no_verdict_without_the_window_or_the_header() -> None:
    unfinished = {**_figures([True]), "back_at_s": None}
    assert fallback_allowance(unfinished, 5.0) is None and primary_cooled_down(unfinished, 5.0) is None
    silent = _figures([False] * 4)
    silent["samples"] = [{**s, "fallbacks": None} for s in silent["samples"]]
    assert primary_cooled_down(silent, 5.0) is None  # the answers did not say
