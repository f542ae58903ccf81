"""runbook.restart: the stack, or one service and its dependents, in dependency order, no sleeps.

Replaces seed 004 scenario 4 (`down`, `up -d`, `sleep 60`, `health_check.sh`) and `docker compose
restart <svc>`. Stops go dependents-first; starts follow the dependency graph of the service
table: each service starts as soon as everything it depends on is healthy (not wave by wave), and
waits on its own health check with its own timeout. Reports time to healthy per service, the
critical path of health waits, and the total.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from infra.cli.guard import number
from infra.spec.model import Platform
from runbooks.drill import HaltMonitor, carriers_of, scoped_silence, silence_plan
from runbooks.framework import BadInput, Options, Run, Runbook, RunbookError, Step, Undo
from runbooks.probes import probe_once, wait_healthy
from runbooks.targets import Target, TargetError


def scope(platform: Platform, options: Options) -> list[str]:
    """Services to restart, in start order: all, or the one named and (unless told not to) its dependents."""
    order = [n for wave in platform.start_order() for n in wave]
    if options.service is None:
        return order
    wanted = {options.service}
    if options.extra.get("dependents", True):
        wanted.update(platform.dependents(options.service))
    return [n for n in order if n in wanted]


def timeout_for(platform: Platform, name: str, options: Options) -> float:
    override = number("timeout", options.extra.get("timeout"))
    return override if override else platform.service(name).health.ready_within_s


def critical_path(platform: Platform, names: list[str], waits: dict[str, float]) -> float:
    """Longest chain of health waits through the dependency graph (the floor for any ordered restart).

    A service's wait runs from the request to start it until it is healthy: the engine's start is
    part of the floor, because no ordered restart can ask for a service before its dependencies
    are healthy. What the runbook adds above it is its own scheduling and polling."""
    memo: dict[str, float] = {}

    def cp(name: str) -> float:
        if name not in memo:
            deps = [d for d in platform.service(name).depends_on if d in names]
            memo[name] = waits.get(name, 0.0) + max((cp(d) for d in deps), default=0.0)
        return memo[name]

    return max((cp(n) for n in names), default=0.0)


@dataclass
class Restart:
    """What the steps share: the services in start order, the undo of their stop once made, and
    the carriers watched while they are down (the halt probes)."""

    scope: list[str]
    stop_undo: Undo | None = None
    carriers: list[str] = field(default_factory=list)
    monitor: HaltMonitor | None = None


def _scope(run: Run) -> list[str]:
    return run.state_as(Restart).scope


def _preflight(run: Run) -> dict[str, Any]:
    platform, names = run.stack_platform, _scope(run)
    target = run.target
    target.ping()
    missing = [n for n in names if target.state(n).status == "missing"]
    if missing:
        raise RunbookError(f"no container for {', '.join(missing)} on {target.where}: deploy first (invoke stack.up)")
    outside = sorted({d for n in names for d in platform.service(n).depends_on if d not in names})
    carriers = carriers_of(platform, names)
    asked = [*outside, *(c for c in carriers if c not in outside)]

    async def check() -> list[str]:
        async with httpx.AsyncClient() as client:
            oks = await asyncio.gather(*(probe_once(client, platform, platform.service(d)) for d in asked))
        return [d for d, ok in zip(asked, oks, strict=True) if not ok]

    down = asyncio.run(check()) if asked else []
    needed = [d for d in down if d in outside]
    if needed:
        raise RunbookError(f"{', '.join(needed)} (needed by the services to restart) is down: restart the whole stack")
    # A restart is a remedy: carriers already down do not stop it, they are only not watched.
    watched = run.state_as(Restart).carriers = [c for c in carriers if c not in down]
    return {"scope": names, "dependencies_checked": outside, "halt_probes_on": watched, "carriers_down": down}


def deadline_for(platform: Platform, names: list[str], options: Options) -> float:
    """Seconds after the stop by which everything must run again (the guard starts it then; the
    silence ends then): each stop, each service's health wait in a row, and a minute."""
    stops = sum(platform.service(n).health.timeout_s * 2 for n in names)
    return round(stops + sum(timeout_for(platform, n, options) for n in names) + 60, 1)


def _stop(run: Run) -> dict[str, Any]:
    platform, names, target = run.stack_platform, _scope(run), run.target
    deadline = deadline_for(platform, names, run.options)
    scoped_silence(run, names, deadline)
    run.state_as(Restart).stop_undo = run.on_rollback(
        f"start {', '.join(names)} and wait for health",
        lambda: _ensure_running(run),
        durable=("start", {"services": names}),
        deadline_s=deadline,
    )
    _watch_carriers(run)
    stopped: dict[str, float] = {}
    for name in reversed(names):  # dependents first
        run.progress.update(f"stopping {name}")
        t0 = time.monotonic()
        target.stop(name, timeout_s=platform.service(name).health.timeout_s * 2)
        stopped[name] = round(time.monotonic() - t0, 3)
    return {"stop_s": stopped}


def _watch_carriers(run: Run) -> None:
    """While the scope is down its routes' other backends carry the traffic: if one that served
    at preflight stops answering, the restart halts (its rollback starts the scope again) and
    the record says which, instead of a restart that reports success on a stack that serves
    nothing."""
    state = run.state_as(Restart)
    if not state.carriers:
        return
    state.monitor = HaltMonitor(run, None, state.carriers)
    state.monitor.start()
    run.cleanup("stop the halt probes", state.monitor.stop)


async def _start_graph(run: Run, names: list[str], target: Target) -> dict[str, dict[str, float]]:
    """Start each service once its in-scope dependencies are healthy; wait on its own health."""
    platform, t0 = run.stack_platform, time.monotonic()
    healthy = {n: asyncio.Event() for n in names}
    out: dict[str, dict[str, float]] = {}

    async def one(name: str, client: httpx.AsyncClient) -> None:
        svc = platform.service(name)
        for dep in svc.depends_on:
            if dep in healthy:
                await healthy[dep].wait()
        asked = time.monotonic()
        run.progress.update(f"starting {name}")
        await asyncio.to_thread(target.start, name)
        start_call = time.monotonic() - asked
        await wait_healthy(platform, svc, timeout_for(platform, name, run.options), target, client)
        healthy[name].set()
        out[name] = {
            "started_at_s": round(asked - t0, 3),
            "start_call_s": round(start_call, 3),
            "healthy_after_s": round(time.monotonic() - asked, 3),
        }

    async with httpx.AsyncClient() as client:
        tasks = [asyncio.create_task(one(n, client)) for n in names]
        try:
            await asyncio.gather(*tasks)
        finally:
            for t in tasks:
                t.cancel()
    return out


def _start(run: Run) -> dict[str, Any]:
    names, target = _scope(run), run.target
    t0 = time.monotonic()
    per_service = asyncio.run(_start_graph(run, names, target))
    state = run.state_as(Restart)
    if state.monitor is not None:
        state.monitor.stop()  # the scope serves again
    if state.stop_undo is not None:
        state.stop_undo.settle()
    total = round(time.monotonic() - t0, 3)
    waits = {n: v["healthy_after_s"] for n, v in per_service.items()}
    cp = round(critical_path(run.stack_platform, names, waits), 3)
    run.measure("time_to_healthy_s", {n: v["healthy_after_s"] for n, v in per_service.items()})
    run.measure("start_offsets_s", {n: v["started_at_s"] for n, v in per_service.items()})
    run.measure("start_call_s", {n: v["start_call_s"] for n, v in per_service.items()})
    run.measure("start_total_s", total)
    run.measure("critical_path_s", cp)
    for name in names:
        run.log(f"  {name}: healthy {per_service[name]['healthy_after_s']:.2f} s after the request to start it")
    run.log(f"  all healthy after {total:.2f} s (critical path of health waits {cp:.2f} s)")
    return {"total_s": total, "critical_path_s": cp}


def _ensure_running(run: Run) -> None:
    """Rollback: whatever the run stopped is started again and healthy (in dependency order)."""
    names, target = _scope(run), run.target
    asyncio.run(_start_graph(run, names, target))


def _verify(run: Run) -> dict[str, Any]:
    from runbooks.health.runbook import sweep

    platform = run.stack_platform
    report = asyncio.run(sweep(platform, [platform.service(n) for n in _scope(run)]))
    down = [r.service for r in report.services if not r.up and r.state != "skipped"]
    if down:
        raise RunbookError(f"not healthy after restart: {', '.join(down)}")
    return {"healthy": [r.service for r in report.services if r.up]}


def _halt_plan(platform: Platform, names: list[str]) -> str:
    carriers = carriers_of(platform, names)
    if not carriers:
        return ""
    every = platform.drills.probe_interval_s
    return f"; halt probes on {', '.join(carriers)} every {every:g} s until the restart serves again"


def build(platform: Platform, options: Options) -> Runbook:
    timeout = number("timeout", options.extra.get("timeout"))
    if timeout is not None and timeout <= 0:
        raise BadInput(f"--timeout must be a positive number of seconds, got {timeout}")
    names = scope(platform, options)
    what = options.service or "the whole stack"

    return Runbook(
        name="restart",
        title=f"restart {what} in dependency order, waiting on health checks",
        seed="seed 004 scenario 4 (down / up -d / sleep 60 / health_check.sh) and `docker compose restart <svc>`",
        state=lambda: Restart(names),
        steps=(
            Step(
                "preflight",
                _preflight,
                probe=True,
                summary=f"engine answers; containers of {', '.join(names)} exist; "
                "their dependencies outside the restart are healthy",
            ),
            Step(
                "stop",
                _stop,
                destructive=True,
                summary=f"stop {', '.join(reversed(names))} (dependents first; {silence_plan(platform, names)})"
                + _halt_plan(platform, names),
            ),
            Step("start", _start, summary="start each service once its dependencies are healthy; wait on its health"),
            Step("verify", _verify, probe=True, summary="health sweep of the restarted services"),
        ),
    )


__all__ = ["TargetError", "build", "critical_path", "scope"]
