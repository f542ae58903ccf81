"""Waiting for a condition instead of sleeping for a guess: poll it, with a bound."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

__all__ = ["wait_until"]

T = TypeVar("T")


def wait_until(condition: Callable[[], T], timeout_s: float, what: str, interval_s: float = 0.01) -> T:
    """Poll `condition` until it returns something true, and return that; AssertionError naming
    `what` when `timeout_s` passes first."""
    deadline = time.monotonic() + timeout_s
    while not (value := condition()):
        assert time.monotonic() < deadline, f"{what}: not within {timeout_s:g} s"
        time.sleep(interval_s)
    return value
