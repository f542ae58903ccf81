"""runbook.watch (one cycle) and runbook.watch-state, as framework runbooks.

`build(platform, options)` is what `runbooks.cli.launch("watch.runbook", ...)` calls. A cycle's
exit code: 0 when it ran and every due notice was delivered; 1 when a delivery failed (the notice
waits in the outbox for the next cycle) or the cycle could not run. Issues found are not
failures of the watch: they are what it reports.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from rich.markup import escape

from infra.spec.model import Platform
from runbooks.framework import BadInput, Options, Run, Runbook, RunbookError, Step
from runbooks.watch import mute, notify, store
from runbooks.watch.checks import CHECKS

__all__ = ["build", "build_state"]

SEED = "seed 000 infra-agent (5-minute rule-first checks, debounce 2/2, alert on change, Synology Chat)"


def _plan(run: Run) -> dict[str, Any]:
    """What a cycle will use: state dir, thresholds, receivers (names and kinds only), mute windows."""
    p = run.stack_platform
    w = p.watch
    eps = notify.endpoints(p)
    for ep in eps:
        if ep.problem:
            run.log(f"[yellow]{escape(ep.problem)}[/]")
    wins = mute.windows(p)
    active = mute.active_windows(wins)
    run.log(
        f"alert after {w.alert_after}, recover after {w.recover_after}, checks {', '.join(CHECKS)} "
        f"(each ≤ {w.check_timeout_s:g} s); receivers: {', '.join(f'{e.name} ({e.receiver.kind})' for e in eps)}; "
        f"mute windows now: {', '.join(active) or 'none'}"
    )
    return {
        "state_dir": str(store.state_dir(p.stack)),
        "receivers": [{"name": e.name, "kind": e.receiver.kind, "usable": e.problem is None} for e in eps],
        "mute_windows": [x.name for x in wins],
        "active_mute_windows": active,
    }


def _cycle(run: Run) -> dict[str, Any]:
    from runbooks.watch.cycle import run_cycle

    report = asyncio.run(run_cycle(run.stack_platform))
    run.measure("watch", report.to_dict())
    for warning in report.warnings:
        run.log(f"[yellow]warning: {escape(warning)}[/]")
    for c in report.checks:
        colour = "green" if c["ran"] and not c["issues"] else ("red" if not c["ran"] else "yellow")
        what = escape(c["error"] or ", ".join(c["issues"]) or "ok")
        run.log(f"  [{colour}]{c['check']:<11}[/] {c['s']:>6.2f} s  {what}")
    for n in report.notices:
        run.log(f"[bold]{n['kind']}[/]: {escape(n['summary'])}")
    if report.delivery_errors:
        raise RunbookError(f"delivery failed, kept in the outbox ({report.outbox}): {report.delivery_errors[0]}")
    return {"failing": len(report.failing), "notices": len(report.notices), "delivered": report.delivered}


def build(platform: Platform, options: Options) -> Runbook:
    if platform.target == "eks" and not platform.watch.receivers and platform.alerting.default_receiver is None:
        raise BadInput("inferops:watch.receivers: name at least one receiver")
    return Runbook(
        name="watch",
        title="one watch cycle: checks, debounce, alert on change, outbox delivery, heartbeat",
        seed=SEED,
        exclusive=False,  # the watch takes its own lock (state.lock), not the stack's mutating lock
        keep_records=platform.watch.keep_records,  # one record per cycle: bounded, not one per 5 min forever
        steps=(
            Step("plan", _plan, "state dir, thresholds, receivers, mute windows", probe=True),
            Step("cycle", _cycle, "checks in parallel → state machine → outbox → receivers → heartbeat"),
        ),
    )


def _ago(t: float | None) -> str:
    return "never" if t is None else f"{time.time() - t:.0f} s ago"


def _show(run: Run) -> dict[str, Any]:
    from rich.table import Table

    directory = store.state_dir(run.stack_platform.stack)
    path = directory / "state.json"
    if not path.exists():
        run.log(f"no watch state yet at {path} (run invoke runbook.watch --once)")
        return {"state": None}
    import json

    from runbooks.watch.store import StateFile

    state = StateFile.model_validate(json.loads(path.read_text()))
    table = Table(title=f"watch state of {run.stack_platform.stack!r}: last cycle {_ago(state.last_cycle_at)}")
    for col in ("key", "fails", "oks", "alerted", "flapping", "muted", "summary"):
        table.add_column(col, overflow="fold")
    for e in state.entries.values():
        table.add_row(
            e.key, str(e.fails), str(e.oks), str(e.alerted), str(e.flapping), e.muted_by or "", escape(e.summary)
        )
    run.display.print(table)
    for name, b in state.baselines.items():
        run.log(f"baseline {name}: {b.ms:.1f} ms after {b.samples} samples (last {b.last_ms} ms)")
    for d in state.outbox:
        run.log(f"outbox: {d.notice.kind} {d.notice.key} → {d.receiver}, {d.attempts} attempts ({d.last_error})")
    data = state.model_dump()
    run.measure("watch_state", data)
    return {"issues": len(state.entries), "outbox": len(state.outbox), "cycles": state.cycles}


def build_state(platform: Platform, options: Options) -> Runbook:
    return Runbook(
        name="watch-state",
        title="the watch's issues, counters, alerted/muted flags, baselines and outbox",
        exclusive=False,
        steps=(Step("show", _show, "read the state file", probe=True),),
    )
