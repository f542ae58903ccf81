"""Mute windows (seed 000's nightly batch): when an issue is muted, and which windows apply.

A window is the alerting model's `MaintenanceWindow` (time zone, weekdays, HH:MM ranges,
label matchers) plus optional key globs. Muting only holds notifications back: the issue keeps
being checked and counted (see machine.py), so nothing "recovers" inside a window while it fails.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from infra.spec.alerting import WEEKDAYS, MaintenanceWindow
from infra.spec.model import Platform
from infra.spec.watch import WatchMute

__all__ = ["active_windows", "in_window", "matches", "muted_by", "windows"]

MATCHER = re.compile(r'^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"(.*)"\s*$')


def windows(platform: Platform) -> tuple[WatchMute, ...]:
    """The watch's own windows, else the stack's alerting maintenance windows."""
    if platform.watch.mute_windows is not None:
        return platform.watch.mute_windows
    return tuple(WatchMute(**w.model_dump()) for w in platform.alerting.maintenance_windows)


def _day_in(day: str, spec: str) -> bool:
    first, _, last = spec.partition(":")
    lo, hi = WEEKDAYS.index(first), WEEKDAYS.index(last or first)
    i = WEEKDAYS.index(day)
    return lo <= i <= hi if lo <= hi else (i >= lo or i <= hi)


def in_window(window: MaintenanceWindow, now: datetime) -> bool:
    """Whether `now` (aware) falls in the window, in the window's own time zone; end is exclusive."""
    local = now.astimezone(ZoneInfo(window.location))
    day = WEEKDAYS[(local.weekday() + 1) % 7]  # Python: Monday 0; WEEKDAYS starts on Sunday
    if window.weekdays and not any(_day_in(day, spec) for spec in window.weekdays):
        return False
    hhmm = local.strftime("%H:%M")
    return any(r.start <= hhmm < r.end for r in window.times)


def _matcher(text: str, labels: Mapping[str, str]) -> bool:
    m = MATCHER.match(text)
    if m is None:
        raise ValueError(f'mute matcher {text!r}: use name="value", name!="value", name=~"re" or name!~"re"')
    name, op, value = m.groups()
    have = labels.get(name, "")
    if op == "=":
        return have == value
    if op == "!=":
        return have != value
    found = re.fullmatch(value, have) is not None
    return found if op == "=~" else not found


def matches(window: WatchMute, key: str, labels: Mapping[str, str]) -> bool:
    """All matchers hold on the labels, and the key fits one of the globs (when there are any)."""
    if not all(_matcher(m, labels) for m in window.matchers):
        return False
    return not window.keys or any(fnmatch.fnmatchcase(key, g) for g in window.keys)


def muted_by(wins: Iterable[WatchMute], key: str, labels: Mapping[str, str], now: datetime | None = None) -> str | None:
    """The name of the first window muting this issue now, or None."""
    now = now or datetime.now(UTC)
    for w in wins:
        if in_window(w, now) and matches(w, key, labels):
            return w.name
    return None


def active_windows(wins: Iterable[WatchMute], now: datetime | None = None) -> list[str]:
    now = now or datetime.now(UTC)
    return [w.name for w in wins if in_window(w, now)]
