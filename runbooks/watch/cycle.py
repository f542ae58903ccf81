"""One watch cycle end to end: lock, load, check, step the machine, explain, queue, save, send, beat.

The state (with the new notices already in the outbox) is saved before anything is sent, so a
crash mid-delivery loses nothing; each delivery is saved as it succeeds. The explanation is
bounded by its own timeout, so it never holds an alert back longer than that.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from infra.spec.model import Platform
from runbooks.watch import heartbeat, mute, notify, store
from runbooks.watch.checks import Check, run_checks
from runbooks.watch.explain import explain
from runbooks.watch.keys import CheckResult
from runbooks.watch.machine import Notice, Thresholds, observe, step

__all__ = ["CycleReport", "run_cycle", "thresholds"]


def thresholds(platform: Platform) -> Thresholds:
    w = platform.watch
    return Thresholds(w.alert_after, w.recover_after, w.flap_window, w.flap_flips)


@dataclass
class CycleReport:
    checks: list[dict[str, Any]] = field(default_factory=list)
    failing: list[str] = field(default_factory=list)
    notices: list[dict[str, Any]] = field(default_factory=list)
    delivered: int = 0
    delivery_errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    outbox: int = 0
    muted_windows: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0
    state_path: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _check_rows(results: list[CheckResult]) -> list[dict[str, Any]]:
    return [
        {"check": r.check, "ran": r.ran, "issues": [i.key for i in r.issues], "s": r.elapsed_s, "error": r.error}
        for r in results
    ]


async def run_cycle(
    platform: Platform,
    directory: Path | None = None,
    checks: dict[str, Check] | None = None,
    now: float | None = None,
    client: httpx.AsyncClient | None = None,
) -> CycleReport:
    t0 = time.monotonic()
    directory = directory or store.state_dir(platform.stack)
    report = CycleReport(state_path=str(directory / "state.json"))
    with store.WatchLock(directory):
        state, report.warnings = store.load(directory, platform.stack)
        results = await run_checks(platform, state, checks)
        report.checks = _check_rows(results)
        obs = observe(results)
        report.failing = sorted(obs.failing)
        wins = mute.windows(platform)
        when = now if now is not None else time.time()
        at = datetime.fromtimestamp(when, UTC)
        report.muted_windows = mute.active_windows(wins, at)
        notices: list[Notice] = step(
            state.entries, obs, when, lambda k, labels: mute.muted_by(wins, k, labels, at), thresholds(platform)
        )
        report.notices = [n.model_dump() for n in notices]
        explanation = await explain(platform, notices)
        eps = notify.endpoints(platform)
        report.warnings += [ep.problem for ep in eps if ep.problem]
        notify.enqueue(state, notices, eps, explanation, when)
        if len(state.outbox) > platform.watch.outbox_max:
            dropped = len(state.outbox) - platform.watch.outbox_max
            state.outbox = state.outbox[dropped:]
            report.warnings.append(f"outbox over {platform.watch.outbox_max}: {dropped} oldest notices dropped")
        state.notices_total += len(notices)
        store.save(directory, state)
        own = client is None
        client = client or httpx.AsyncClient(verify=notify.tls_verify())
        try:
            send = notify.http_sender(client, platform.stack, platform.watch.notify_timeout_s)
            report.delivered, report.delivery_errors = await notify.deliver_all(
                state, eps, send, lambda: store.save(directory, state)
            )
        finally:
            if own:
                await client.aclose()
        state.cycles += 1
        state.last_cycle_at = time.time()
        state.last_cycle_s = round(time.monotonic() - t0, 3)
        report.outbox = len(state.outbox)
        store.save(directory, state)
        heartbeat.write(
            directory,
            heartbeat.render(platform.stack, state, platform.watch.interval_s),
            platform.watch.heartbeat_textfile,
        )
    report.elapsed_s = round(time.monotonic() - t0, 3)
    return report
