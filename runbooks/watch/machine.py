"""The watch's state machine: debounce, alert on change, flapping, mute windows. Pure: no I/O.

Per issue key, each cycle is one observation: failing (the key is in the current set), ok (it
is not), or held (the check that owns it could not run: nothing is known, nothing changes).

- alert after `alert_after` consecutive failures, once per episode (seed 000's 2);
- recovery after an alert and `recover_after` consecutive successes (seed 000's 2);
- flapping: `flap_flips` state changes within the last `flap_window` observations give one
  "flapping" notice, then quiet (no alert, no recovery) until it settles (at most one change in
  the window), when the normal rules take over again;
- muted (inside a mute window): counting goes on, nothing is sent. Seed 000 dropped muted issues
  from the current set, so an issue alerted before the window "recovered" inside it while still
  down. Here a recovery waits for the first unmuted cycle, and an issue still failing when the
  window ends alerts then.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, Field

from runbooks.watch.keys import CheckResult, Issue

__all__ = ["Entry", "Notice", "NoticeKind", "Observation", "Thresholds", "observe", "step"]

NoticeKind = Literal["alert", "recovery", "flapping"]


@dataclass(frozen=True)
class Thresholds:
    alert_after: int = 2
    recover_after: int = 2
    flap_window: int = 10
    flap_flips: int = 4


class Entry(BaseModel):
    """What the watch remembers about one issue key."""

    key: str
    check: str
    summary: str = ""
    labels: dict[str, str] = Field(default_factory=dict)
    fails: int = 0  # consecutive failing observations
    oks: int = 0  # consecutive ok observations
    alerted: bool = False
    episode: int = 0  # how many alerts this key has had (part of the delivery id)
    history: list[bool] = Field(default_factory=list)  # True = failing, newest last
    flapping: bool = False
    flap_noticed: bool = False
    flaps: int = 0  # flapping notices so far (part of the delivery id)
    muted_by: str | None = None
    first_seen: float = 0.0
    last_change: float = 0.0

    @property
    def flips(self) -> int:
        return sum(1 for a, b in zip(self.history, self.history[1:], strict=False) if a != b)


class Notice(BaseModel):
    """Something to tell people: one per transition, with an id that names it for ever."""

    id: str
    kind: NoticeKind
    key: str
    summary: str
    at: float
    episode: int
    labels: dict[str, str] = Field(default_factory=dict)


@dataclass(frozen=True)
class Observation:
    """One cycle: the failing issues by key, and the checks that could not run."""

    failing: Mapping[str, Issue]
    held_checks: frozenset[str] = frozenset()
    owner: Mapping[str, str] | None = None  # key -> check, for the failing ones


def observe(results: list[CheckResult]) -> Observation:
    """Fold check results into one observation; a check that could not run holds its keys."""
    failing: dict[str, Issue] = {}
    owner: dict[str, str] = {}
    held = set()
    for r in results:
        if not r.ran:
            held.add(r.check)
        for issue in r.issues:
            failing[issue.key] = issue
            # a check's own error key is owned by a pseudo-check that always runs, so it can recover
            owner[issue.key] = f"{r.check}!" if issue.category == "check" else r.check
    return Observation(failing, frozenset(held), owner)


def notice_id(kind: str, key: str, number: int) -> str:
    """Stable for a transition: the same alert (key, episode) always gets the same id."""
    return hashlib.sha256(f"{kind}|{key}|{number}".encode()).hexdigest()[:16]


def _update(entry: Entry, failing: bool, window: int) -> None:
    if failing:
        entry.fails, entry.oks = entry.fails + 1, 0
    else:
        entry.fails, entry.oks = 0, entry.oks + 1
    entry.history = [*entry.history, failing][-window:]


def _notice(entry: Entry, kind: NoticeKind, now: float, number: int) -> Notice:
    return Notice(
        id=notice_id(kind, entry.key, number),
        kind=kind,
        key=entry.key,
        summary=entry.summary,
        at=now,
        episode=entry.episode,
        labels=entry.labels,
    )


def _transition(entry: Entry, failing: bool, muted: bool, t: Thresholds, now: float) -> Notice | None:
    """The notice (if any) this observation calls for; updates the entry's flags."""
    if not entry.flapping and entry.flips >= t.flap_flips:
        entry.flapping, entry.flap_noticed = True, False
    elif entry.flapping and entry.flips <= 1:
        entry.flapping = False
    if entry.flapping:
        if entry.flap_noticed or muted:
            return None
        entry.flap_noticed, entry.flaps = True, entry.flaps + 1
        return _notice(entry, "flapping", now, entry.flaps)
    if muted:
        return None
    if failing and entry.fails >= t.alert_after and not entry.alerted:
        entry.alerted, entry.episode, entry.last_change = True, entry.episode + 1, now
        return _notice(entry, "alert", now, entry.episode)
    if not failing and entry.alerted and entry.oks >= t.recover_after:
        entry.alerted, entry.last_change = False, now
        return _notice(entry, "recovery", now, entry.episode)
    return None


def step(
    entries: dict[str, Entry],
    obs: Observation,
    now: float,
    muted: Callable[[str, Mapping[str, str]], str | None],
    t: Thresholds,
) -> list[Notice]:
    """Advance every known or newly failing key by one observation; the notices to send, in key order.

    `muted(key, labels)` names the window muting the issue now, or None. Entries that are quiet
    (not alerted, not flapping, nothing failing in their history) are forgotten.
    """
    owner = obs.owner or {}
    notices: list[Notice] = []
    for key in sorted(set(entries) | set(obs.failing)):
        issue = obs.failing.get(key)
        entry = entries.get(key)
        if entry is None:
            assert issue is not None
            entry = Entry(key=key, check=owner.get(key, issue.category), labels=issue.labels, first_seen=now)
            entries[key] = entry
        held = issue is None and entry.check in obs.held_checks
        if issue is not None:
            entry.summary, entry.labels = issue.summary, issue.labels
        if not held:  # a held key (its check could not look) keeps its counts: neither failing nor recovered
            _update(entry, issue is not None, t.flap_window)
        failing = issue is not None or (held and entry.fails > 0)
        entry.muted_by = muted(key, entry.labels)
        # held and muted before: the alert the window held back is still due when the window ends
        found = _transition(entry, failing, entry.muted_by is not None, t, now)
        if found is not None:
            notices.append(found)
        if not entry.alerted and not entry.flapping and not any(entry.history):
            del entries[key]
    return notices
