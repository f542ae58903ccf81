"""Whole cycles (runbooks.watch.cycle) with the checks given, state in tmp, the alert sink on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import multiprocessing
from pathlib import Path

import pytest

from runbooks.framework.errors import BadInput
from runbooks.watch import heartbeat, store
from runbooks.watch.cycle import run_cycle
from runbooks.watch.keys import Issue
from tests.unit.watch.servers import sink, watch_platform

DOWN = Issue("docker", "localhost", "inference-chat", "exited", "container inference-chat is exited", "inference-chat")


def _checks(flags: dict[str, bool]):
    async def containers(platform, state, client) -> list[Issue]:
        return [DOWN] if flags["down"] else []

    return {"containers": containers}


def _platform(base: str):
    return watch_platform(
        {"receivers": [{"name": "sink", "kind": "webhook", "service": "alert-sink", "path": "/watch"}]},
        services={"alert-sink": {"enabled": True, "host_port": int(base.rsplit(":", 1)[1])}},
    )


def test_two_failures_alert_once_two_successes_recover_once(watch_dirs: Path) -> None:
    with sink() as (base, items):
        platform = _platform(base)
        flags = {"down": True}
        kinds = []
        for down in (True, True, True, False, False, False):
            flags["down"] = down
            report = asyncio.run(run_cycle(platform, watch_dirs, _checks(flags)))
            kinds.append([n["kind"] for n in report.notices])
        got = [i["body"]["kind"] for i in items.list(path="/watch")]
    assert kinds == [[], ["alert"], [], [], ["recovery"], []]
    assert got == ["alert", "recovery"]


def test_a_corrupt_state_file_is_kept_aside_and_the_cycle_runs(watch_dirs: Path) -> None:
    watch_dirs.mkdir(parents=True)
    (watch_dirs / "state.json").write_text('{"schema_version": 1, "entries": {"x": ')
    with sink() as (base, _):
        report = asyncio.run(run_cycle(_platform(base), watch_dirs, _checks({"down": True})))
    assert report.warnings and "unreadable" in report.warnings[0]
    assert list(watch_dirs.glob("state.json.corrupt-*"))
    assert json.loads((watch_dirs / "state.json").read_text())["cycles"] == 1


def test_an_unknown_schema_is_kept_aside_too(watch_dirs: Path) -> None:
    watch_dirs.mkdir(parents=True)
    (watch_dirs / "state.json").write_text(json.dumps({"schema_version": 99, "entries": {}}))
    state, warnings = store.load(watch_dirs, "unit")
    assert state.cycles == 0 and "schema_version 99" in warnings[0]


def _hold_lock(directory: str, ready, release) -> None:  # runs in a child process
    with store.WatchLock(Path(directory)):
        ready.set()
        release.wait(30)


def test_two_cycles_never_interleave(watch_dirs: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    ready, release = ctx.Event(), ctx.Event()
    child = ctx.Process(target=_hold_lock, args=(str(watch_dirs), ready, release))
    child.start()
    try:
        assert ready.wait(30)
        with pytest.raises(BadInput, match="another watch cycle"):
            asyncio.run(run_cycle(watch_platform(), watch_dirs, _checks({"down": False})))
    finally:
        release.set()
        child.join(30)
    asyncio.run(run_cycle(watch_platform(), watch_dirs, _checks({"down": False})))  # free again


def test_the_heartbeat_is_rewritten_every_cycle(watch_dirs: Path) -> None:
    platform = watch_platform({"interval_s": 60})
    asyncio.run(run_cycle(platform, watch_dirs, _checks({"down": False})))
    first = (watch_dirs / "heartbeat.prom").read_text()
    asyncio.run(run_cycle(platform, watch_dirs, _checks({"down": False})))
    second = (watch_dirs / "heartbeat.prom").read_text()
    assert f'{heartbeat.METRIC}{{stack="unit"}}' in second and "inferops_watch_interval_seconds" in second
    assert 'inferops_watch_cycles_total{stack="unit"} 2' in second and first != second


def test_a_check_that_raises_or_hangs_is_one_stable_issue(watch_dirs: Path) -> None:
    async def broken(platform, state, client):
        raise RuntimeError(f"boom {id(state)}")

    async def hangs(platform, state, client):
        await asyncio.sleep(60)

    platform = watch_platform({"check_timeout_s": 0.3})
    report = asyncio.run(run_cycle(platform, watch_dirs, {"disk": broken, "gpu": hangs}))
    assert report.failing == ["check:localhost:disk:error", "check:localhost:gpu:error"]
    assert report.elapsed_s < 5
