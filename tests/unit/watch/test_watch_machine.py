"""The watch's state machine, property-based: random check results, mute windows and thresholds.

Each example drives `machine.step` through `machine.observe` (as a cycle does) for two checks:
`c1` owns issue A and `c2` owns issue B; a check that could not run holds its issue and raises
its own `check:…:error` issue. The properties are the issue's list, checked on every key.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass, field

from hypothesis import given, settings
from hypothesis import strategies as st

from runbooks.watch.keys import CheckResult, Issue, check_error
from runbooks.watch.machine import Entry, Notice, Thresholds, observe, step

CHECKS = {"c1": Issue("docker", "gpu", "svc-a", "exited", "A down"), "c2": Issue("disk", "gpu", "/", "high", "B full")}
Obs = str  # "fail" | "ok" | "held"

cycle = st.fixed_dictionaries(
    {
        "c1": st.sampled_from(["fail", "fail", "ok", "ok", "held"]),
        "c2": st.sampled_from(["fail", "ok", "held"]),
        "mute": st.booleans(),
    }
)
thresholds = st.builds(
    Thresholds,
    alert_after=st.integers(1, 4),
    recover_after=st.integers(1, 4),
    flap_window=st.integers(6, 12),
    flap_flips=st.integers(3, 5),
)


@dataclass
class Timeline:
    """Per key: the effective observations (True = failing; held cycles left out), what happened."""

    obs: dict[str, list[bool]] = field(default_factory=lambda: defaultdict(list))
    events: list[tuple[int, Notice, bool, Entry | None]] = field(default_factory=list)  # (cycle, notice, muted, entry)
    after: list[dict[str, Entry]] = field(default_factory=list)  # entries after each cycle
    muted: list[bool] = field(default_factory=list)
    effective_at: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))


def results(c: dict) -> list[CheckResult]:
    out = []
    for name, issue in CHECKS.items():
        if c[name] == "held":
            out.append(check_error(name, "gpu", f"timeout after {len(out)} s: changing text {id(c)}"))
        else:
            out.append(CheckResult(name, True, (issue,) if c[name] == "fail" else ()))
    return out


def simulate(cycles: list[dict], t: Thresholds) -> Timeline:
    entries: dict[str, Entry] = {}
    tl = Timeline()
    for i, c in enumerate(cycles):
        obs = observe(results(c))
        muted = c["mute"]
        # mute applies to the disk issue only (a key-pattern window), the others run free
        notices = step(
            entries, obs, float(i), lambda key, labels, m=muted: "w" if m and key.startswith("disk") else None, t
        )
        for key in set(entries) | set(obs.failing):
            e = entries.get(key)
            held = key not in obs.failing and e is not None and e.check in obs.held_checks
            if not held and (key in obs.failing or e is not None or tl.obs.get(key)):
                tl.obs[key].append(key in obs.failing)
                tl.effective_at[key].append(i)
        snapshot = {k: e.model_copy(deep=True) for k, e in entries.items()}
        for n in notices:
            tl.events.append((i, n, muted and n.key.startswith("disk"), snapshot.get(n.key)))
        tl.after.append(snapshot)
        tl.muted.append(muted)
    return tl


def _obs_upto(tl: Timeline, key: str, i: int) -> list[bool]:
    return [o for o, at in zip(tl.obs[key], tl.effective_at[key], strict=True) if at <= i]


@settings(max_examples=300, deadline=None)
@given(st.lists(cycle, min_size=1, max_size=40), thresholds)
def test_alert_only_after_threshold_of_consecutive_failures(cycles: list[dict], t: Thresholds) -> None:
    tl = simulate(cycles, t)
    for i, n, _, _ in tl.events:
        if n.kind == "alert":
            seen = _obs_upto(tl, n.key, i)
            assert len(seen) >= t.alert_after and all(seen[-t.alert_after :]), (i, n.key, seen)


@settings(max_examples=300, deadline=None)
@given(st.lists(cycle, min_size=1, max_size=40), thresholds)
def test_one_alert_per_episode_and_recovery_only_after_an_alert(cycles: list[dict], t: Thresholds) -> None:
    tl = simulate(cycles, t)
    by_key: dict[str, list[str]] = defaultdict(list)
    for _, n, _, _ in tl.events:
        if n.kind != "flapping":
            by_key[n.key].append(n.kind)
    for key, kinds in by_key.items():
        expected = ["alert" if j % 2 == 0 else "recovery" for j in range(len(kinds))]
        assert kinds == expected, (key, kinds)


@settings(max_examples=300, deadline=None)
@given(st.lists(cycle, min_size=1, max_size=40), thresholds)
def test_recovery_only_after_threshold_of_successes_never_while_failing(cycles: list[dict], t: Thresholds) -> None:
    tl = simulate(cycles, t)
    for i, n, _, _ in tl.events:
        if n.kind == "recovery":
            seen = _obs_upto(tl, n.key, i)
            assert seen[-1] is False, "a recovery while the issue still fails"
            assert len(seen) >= t.recover_after and not any(seen[-t.recover_after :]), (i, n.key, seen)


@settings(max_examples=300, deadline=None)
@given(st.lists(cycle, min_size=1, max_size=40), thresholds)
def test_nothing_sent_inside_a_mute_window(cycles: list[dict], t: Thresholds) -> None:
    tl = simulate(cycles, t)
    assert not [(i, n.kind) for i, n, muted, _ in tl.events if muted]


@settings(max_examples=300, deadline=None)
@given(st.lists(cycle, min_size=1, max_size=40), thresholds)
def test_an_issue_failing_when_the_window_ends_alerts_then(cycles: list[dict], t: Thresholds) -> None:
    """Liveness: on every unmuted cycle, a settled issue with enough failures has been alerted,
    and a settled issue with enough successes is no longer alerted."""
    tl = simulate(cycles, t)
    for i, snapshot in enumerate(tl.after):
        for key, e in snapshot.items():
            muted = tl.muted[i] and key.startswith("disk")
            if muted or e.flapping:
                continue
            if e.fails >= t.alert_after:
                assert e.alerted, (i, key, e)
            if e.oks >= t.recover_after:
                assert not e.alerted, (i, key, e)


@settings(max_examples=300, deadline=None)
@given(st.lists(cycle, min_size=1, max_size=40), thresholds)
def test_flapping_one_notice_then_quiet_until_it_settles(cycles: list[dict], t: Thresholds) -> None:
    tl = simulate(cycles, t)
    for i, n, _, e in tl.events:
        assert e is not None
        if n.kind in ("alert", "recovery"):
            assert not e.flapping, (i, n)
    for key in {n.key for _, n, _, _ in tl.events}:
        flaps = [i for i, n, _, _ in tl.events if n.key == key and n.kind == "flapping"]
        for a, b in itertools.pairwise(flaps):
            settled = any(
                k == key and not tl.after[j][k].flapping for j in range(a, b) for k in tl.after[j] if k == key
            )
            gone = any(key not in tl.after[j] for j in range(a, b))
            assert settled or gone, f"two flapping notices for {key} at {a} and {b} without settling"


def _open(key: str, labels: dict) -> str | None:
    return None


def _nightly(key: str, labels: dict) -> str | None:
    return "nightly"


def test_a_changing_error_message_keeps_one_key() -> None:
    """Seed 000's `check:error:{error[:30]}`: here two different messages are one issue, which alerts."""
    entries: dict[str, Entry] = {}
    t = Thresholds()
    first = step(entries, observe([check_error("docker", "gpu", "timeout after 20.1 s")]), 0, _open, t)
    second = step(entries, observe([check_error("docker", "gpu", "connection reset by peer")]), 1, _open, t)
    assert first == [] and [n.kind for n in second] == ["alert"]
    assert second[0].key == "check:gpu:docker:error"


def test_a_check_that_cannot_run_does_not_recover_its_issues() -> None:
    entries: dict[str, Entry] = {}
    t = Thresholds()
    down = CheckResult("docker", True, (CHECKS["c1"],))
    for i in range(2):
        step(entries, observe([down]), i, _open, t)
    assert entries[CHECKS["c1"].key].alerted
    for i in range(2, 6):
        got = step(entries, observe([check_error("docker", "gpu", "engine gone")]), i, _open, t)
        assert all(n.key != CHECKS["c1"].key for n in got)
    assert entries[CHECKS["c1"].key].alerted


def test_seed_bug_muted_issue_does_not_recover_inside_the_window() -> None:
    """Alerted before the window; still down inside it: no recovery; still down after: no new alert."""
    entries: dict[str, Entry] = {}
    t = Thresholds()
    down = observe([CheckResult("health", True, (CHECKS["c2"],))])
    sent = [n.kind for i in range(2) for n in step(entries, down, i, _open, t)]
    assert sent == ["alert"]
    inside = [n.kind for i in range(2, 8) for n in step(entries, down, i, _nightly, t)]
    after = [n.kind for i in range(8, 10) for n in step(entries, down, i, _open, t)]
    assert inside == [] and after == [] and entries[CHECKS["c2"].key].alerted
