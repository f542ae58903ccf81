"""runbook.failover-test: fault the primary of a model group under load and prove the gateway fails over.

Replaces seed 004 scenario 3 (`docker stop inference-chat`, one curl, grep the gateway log for
"retry", `docker start`). Here: the steady state is checked (the gateway answers through the
primary, identified per request by `x-litellm-model-id`), load runs through the gateway at a
fixed rate, the primary is killed, stopped or paused (a hung server), every request's latency
and backend is recorded, the primary comes back, and traffic must return to it within the
gateway's cooldown plus its health-check interval plus a margin. The primary is restored in
rollback whatever happens, Ctrl-C included.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import httpx

from infra.spec.model import Platform, Role
from runbooks.drill import HaltMonitor, scoped_silence, silence_plan
from runbooks.faults.modes import MODES, PARTIAL_MODES, PROXY_MODES, Fault
from runbooks.framework import BadInput, Options, Run, Runbook, RunbookError, Step
from runbooks.framework.runner import Undo
from runbooks.load import LoadGenerator, Sample, samples_as_dicts, summarize
from runbooks.probes import completion_payload, gateway_headers, gateway_url, probe_once, served_by, wait_healthy

if TYPE_CHECKING:
    from runbooks.faults.inject import Injection

CONSECUTIVE = 3  # answers in a row from one backend that count as "it carries the traffic"
DEFAULTS: dict[str, Any] = {
    "group": None,
    "mode": "kill",
    "rate": 2.0,
    "duration": 60.0,
    "fault_after": 10.0,
    "max_failed": 0,
    "margin": 10.0,
    "max_tokens": 8,
    "hold": 0.0,
    "stream_share": 0.25,
}


@dataclass(frozen=True)
class Settings:
    """The drill's validated options, the group's primary and secondary, and its deadline."""

    group: str
    mode: str
    rate: float
    duration: float
    fault_after: float
    max_failed: int
    margin: float
    max_tokens: int
    hold: float
    stream_share: float
    primary: str
    secondary: str
    deadline_s: float = 0.0

    def payload(self) -> dict[str, Any]:
        return completion_payload(self.group, self.max_tokens)


@dataclass
class Drill:
    """What the steps share: set as the run goes (None until the step that makes it)."""

    settings: Settings
    load: LoadGenerator | None = None
    monitor: HaltMonitor | None = None
    fault_undo: Undo | None = None
    injection: Injection | None = None
    fault_at: float | None = None
    restored_at: float | None = None
    back_at: float | None = None
    report: dict[str, Any] | None = None


def _drill(run: Run) -> Drill:
    return run.state_as(Drill)


def settings(platform: Platform, options: Options) -> Settings:
    """Validated options; BadInput names the option and what is allowed."""
    given = options.extra
    s: dict[str, Any] = {k: (given.get(k) if given.get(k) is not None else v) for k, v in DEFAULTS.items()}
    routes = platform.gateway.routes
    if options.service is not None:
        groups = [g for g, backends in routes.items() if backends[0] == options.service]
        if not groups:
            primaries = ", ".join(f"{b[0]} ({g})" for g, b in routes.items())
            raise BadInput(
                f"--service {options.service} is not the primary of any gateway route; primaries: {primaries}"
            )
        s["group"] = s["group"] or groups[0]
    s["group"] = s["group"] or next(iter(routes))
    if s["group"] not in routes:
        raise BadInput(f"--group {s['group']!r} is not a gateway model group; known: {', '.join(routes)}")
    if len(routes[s["group"]]) < 2:
        raise BadInput(f"gateway route {s['group']!r} has no secondary backend to fail over to")
    if s["mode"] not in MODES:
        raise BadInput(f"--mode {s['mode']!r}: choose one of {', '.join(MODES)}")
    if s["mode"] in PROXY_MODES:
        from runbooks.faults.inject import refusal

        if reason := refusal(platform):
            raise BadInput(f"--mode {s['mode']}: {reason}")
    floats = ("rate", "duration", "fault_after", "margin", "hold", "stream_share")
    for key in (*floats, "max_failed", "max_tokens"):
        try:
            s[key] = float(s[key]) if key in floats else int(s[key])
        except (TypeError, ValueError):
            raise BadInput(f"--{key.replace('_', '-')} must be a number, got {s[key]!r}") from None
    if not 0 <= s["stream_share"] <= 1:
        raise BadInput(f"--stream-share must be between 0 and 1 (a share of the requests), got {s['stream_share']:g}")
    if s["rate"] <= 0:
        raise BadInput(f"--rate must be a positive number of requests per second, got {s['rate']:g}")
    if s["duration"] <= 0:
        raise BadInput(f"--duration must be a positive number of seconds, got {s['duration']:g}")
    if not 0 <= s["fault_after"] < s["duration"]:
        raise BadInput(f"--fault-after must be >= 0 and below --duration ({s['duration']:g}), got {s['fault_after']:g}")
    if s["max_failed"] < 0 or s["margin"] < 0 or s["max_tokens"] < 1:
        raise BadInput("--max-failed and --margin must be >= 0 and --max-tokens >= 1")
    if s["hold"] < 0:
        raise BadInput(f"--hold must be >= 0 seconds, got {s['hold']:g}")
    group = routes[s["group"]]
    out = Settings(**{k: s[k] for k in DEFAULTS}, primary=group[0], secondary=group[1])
    return replace(out, deadline_s=drill_deadline(platform, out))


def drill_deadline(platform: Platform, s: Settings) -> float:
    """Seconds from the fault by which the primary must be back whatever happens: the guard runs
    the undo then, and the drill's silence ends then (the load, the hold, the gateway's return
    to the primary, the primary's own start-up, a minute of margin)."""
    gw = platform.gateway
    ready = platform.service(s.primary).health.ready_within_s
    back = gw.cooldown_time_s + gw.health_check_interval_s + s.margin
    return round(s.duration + s.hold + back + ready + platform.tuning.LLM_REQUEST_TIMEOUT + 60, 1)


def _steady_state(run: Run) -> dict[str, Any]:
    platform, s = run.stack_platform, _drill(run).settings
    gw = platform.by_role(Role.GATEWAY)[0]
    names = [gw.name, s.primary, s.secondary]
    served_fn = served_by(platform)

    async def check() -> tuple[list[str], list[str | None]]:
        async with httpx.AsyncClient() as client:
            oks = await asyncio.gather(*(probe_once(client, platform, platform.service(n)) for n in names))
            served = []
            for _ in range(CONSECUTIVE):
                resp = await client.post(
                    gateway_url(platform),
                    json=s.payload(),
                    headers=gateway_headers(platform.stack),
                    timeout=platform.tuning.LLM_REQUEST_TIMEOUT,
                )
                if resp.status_code != 200:
                    raise RunbookError(f"gateway answered {resp.status_code}: {resp.text[:200]}")
                served.append(served_fn(resp))
        return [n for n, ok in zip(names, oks, strict=True) if not ok], served

    down, served = asyncio.run(check())
    if down:
        raise RunbookError(f"steady state not met: {', '.join(down)} not healthy")
    if any(b != s.primary for b in served):
        raise RunbookError(f"steady state not met: requests for {s.group!r} served by {served}, not {s.primary}")
    return {"served_by": served}


def _load(run: Run) -> LoadGenerator:
    gen = _drill(run).load
    if gen is None:
        raise RunbookError("the load generator has not started")
    return gen


def _start_load(run: Run) -> dict[str, Any]:
    platform, drill = run.stack_platform, _drill(run)
    s = drill.settings
    gen = LoadGenerator(
        gateway_url(platform),
        s.payload(),
        s.rate,
        served_by(platform),
        gateway_headers(platform.stack),
        timeout_s=platform.tuning.LLM_REQUEST_TIMEOUT,
        stream_share=s.stream_share,
    )
    gen.start()
    drill.load = gen

    def stop() -> None:
        gen.stop()
        _report(run)

    run.cleanup("stop the load generator", stop)
    return {"rate": s.rate, "url": gen.url, "streamed_share": s.stream_share}


def _wait_load(run: Run, until_s: float, label: str) -> None:
    gen = _load(run)
    while gen.now() < until_s:
        done = gen.snapshot()
        run.progress.update(f"{label}: {len(done)} answered, {sum(not x.ok for x in done)} failed")
        time.sleep(0.1)


def _baseline(run: Run) -> dict[str, Any]:
    _wait_load(run, _drill(run).settings.fault_after, "baseline")
    before = _load(run).snapshot()
    if any(not x.ok for x in before):
        raise RunbookError(f"{sum(not x.ok for x in before)} requests failed before any fault: steady state broken")
    return summarize(before)


def _restore_primary(run: Run) -> None:
    platform, drill = run.stack_platform, _drill(run)
    s, target = drill.settings, run.target
    if s.mode in PROXY_MODES:
        _remove_proxy(run)
    if s.mode == "pause":
        target.unpause(s.primary)
    target.start(s.primary)
    svc = platform.service(s.primary)
    asyncio.run(wait_healthy(platform, svc, svc.health.ready_within_s, target))


def _remove_proxy(run: Run) -> None:
    """Take the fault proxy out (idempotent) and keep what it counted."""
    from runbooks.faults.inject import remove

    drill = _drill(run)
    if drill.injection is not None:
        injection, drill.injection = drill.injection, None
        run.measure("fault_proxy", remove(injection))


def _routed_back(run: Run) -> None:
    """Wait until the gateway serves the group from the primary again, so a rolled-back run
    leaves traffic where it found it (the gateway keeps a restored backend out of rotation for
    up to its cooldown plus one health-check cycle)."""
    platform, s = run.stack_platform, _drill(run).settings
    gw = platform.gateway
    deadline = time.monotonic() + gw.cooldown_time_s + gw.health_check_interval_s + s.margin
    served_fn = served_by(platform)

    async def served_by_primary(client: httpx.AsyncClient) -> bool:
        resp = await client.post(
            gateway_url(platform),
            json=s.payload(),
            headers=gateway_headers(platform.stack),
            timeout=platform.tuning.LLM_REQUEST_TIMEOUT,
        )
        return resp.status_code == 200 and served_fn(resp) == s.primary

    async def wait() -> None:
        streak = 0
        async with httpx.AsyncClient() as client:
            while streak < CONSECUTIVE:
                if time.monotonic() > deadline:
                    raise RunbookError(f"the gateway does not route {s.group!r} to {s.primary} again")
                streak = streak + 1 if await served_by_primary(client) else 0
                if streak == 0:
                    await asyncio.sleep(0.5)

    asyncio.run(wait())


def _undo_fault(run: Run) -> None:
    _restore_primary(run)
    _routed_back(run)


def _silence(run: Run) -> dict[str, Any]:
    s = _drill(run).settings
    return {"silences": scoped_silence(run, [s.primary], s.deadline_s)}


def _fault(run: Run) -> dict[str, Any]:
    drill = _drill(run)
    s, gen = drill.settings, _load(run)
    proxied = s.mode in PROXY_MODES
    undo = "remove-fault-proxy" if proxied else {"kill": "start", "stop": "start", "pause": "unpause"}[s.mode]
    data: dict[str, Any] = {"services": [s.primary]}
    if proxied:
        from runbooks.faults.inject import PROXY_PORT

        port = run.stack_platform.service(s.primary).port
        data = {"service": s.primary, "port": port, "to_port": PROXY_PORT, "proxy_pid": None}
    drill.fault_undo = run.on_rollback(
        f"restore {s.primary}, wait for its health and for traffic on it",
        lambda: _undo_fault(run),
        durable=(undo, data),
        deadline_s=s.deadline_s,
    )
    monitor = HaltMonitor(run, gen, [s.secondary])
    drill.monitor = monitor
    monitor.start()
    run.cleanup("stop the halt probes", monitor.stop)
    drill.fault_at = gen.now()
    if proxied:
        _inject(run, drill.fault_undo)
    else:
        act: dict[str, Callable[[str], object]] = {"kill": run.target.kill, "stop": run.target.stop,
                                                   "pause": run.target.pause}  # fmt: skip
        act[s.mode](s.primary)
    run.measure("fault_at_s", round(drill.fault_at, 3))
    return {"mode": s.mode, "primary": s.primary}


def _inject(run: Run, undo: Undo) -> None:
    """The fault proxy in front of the primary; its PID into the durable undo as soon as it runs."""
    from runbooks.faults.inject import inject
    from runbooks.framework.durable import guard_dir

    drill = _drill(run)
    s = drill.settings
    stats = guard_dir() / f"{run.record.id}.fault-proxy.json"
    drill.injection = inject(run.stack_platform, s.primary, Fault(s.mode), s.deadline_s, stats)
    if undo.entry is not None:
        undo.entry["data"]["proxy_pid"] = drill.injection.proxy_pid
        run.record.save()


def carried_by(gen: LoadGenerator, backend: str, since_s: float) -> float | None:
    """Send time of the first of CONSECUTIVE answered requests (sent after `since_s`) all served by `backend`."""
    done = sorted(gen.snapshot(since_s), key=lambda x: x.sent_s)
    streak: list[Sample] = []
    for x in done:
        streak = [*streak, x] if x.ok and x.backend == backend else []
        if len(streak) >= CONSECUTIVE:
            return streak[0].sent_s
    return None


def _wait_carried(run: Run, backend: str, since_s: float, timeout_s: float, label: str) -> float:
    gen = _load(run)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        at = carried_by(gen, backend, since_s)
        if at is not None:
            return at
        done = gen.snapshot(since_s)
        run.progress.update(f"{label}: {len(done)} answered since, {sum(not x.ok for x in done)} failed")
        time.sleep(0.1)
    raise RunbookError(f"{backend} did not carry the traffic within {timeout_s:g} s ({label})")


def _fault_at(drill: Drill) -> float:
    if drill.fault_at is None:
        raise RunbookError("no fault was made")
    return drill.fault_at


def _secondary_carries(run: Run) -> dict[str, Any]:
    platform, drill = run.stack_platform, _drill(run)
    s, fault_at = drill.settings, _fault_at(drill)
    if s.mode in PARTIAL_MODES:
        return _observe_partial(run, fault_at)
    timeout = platform.tuning.LLM_REQUEST_TIMEOUT + 30
    at = _wait_carried(run, s.secondary, fault_at, timeout, f"waiting for {s.secondary}")
    took = round(at - fault_at, 3)
    run.measure("time_to_secondary_s", took)
    if s.hold:
        _wait_load(run, fault_at + s.hold, f"holding the fault {s.hold:g} s")
    return {"secondary_from_s": took}


def _observe_partial(run: Run, fault_at: float) -> dict[str, Any]:
    """A fault that spares some requests: hold it (--hold, or a gateway cooldown and health cycle)
    and say who served what; the verdict judges the failures and any silent truncation."""
    s, gw = _drill(run).settings, run.stack_platform.gateway
    window = s.hold or gw.cooldown_time_s + gw.health_check_interval_s
    _wait_load(run, fault_at + window, f"observing {s.mode} for {window:g} s")
    seen = summarize(_load(run).snapshot(fault_at))
    if (at := carried_by(_load(run), s.secondary, fault_at)) is not None:
        run.measure("time_to_secondary_s", round(at - fault_at, 3))
    return {"observed_s": window, "by_backend": seen["by_backend"], "failed": seen["failed"]}


def _restore_step(run: Run) -> dict[str, Any]:
    drill, t0 = _drill(run), time.monotonic()
    _restore_primary(run)
    if drill.fault_undo is not None:
        drill.fault_undo.settle()  # the guard no longer needs to restore it
    drill.restored_at = _load(run).now()
    run.measure("restored_at_s", round(drill.restored_at, 3))
    took = round(time.monotonic() - t0, 3)
    run.measure("primary_healthy_after_s", took)
    return {"healthy_after_s": took}


def _back_on_primary(run: Run) -> dict[str, Any]:
    platform, drill = run.stack_platform, _drill(run)
    s, gw = drill.settings, platform.gateway
    restored_at = drill.restored_at if drill.restored_at is not None else _load(run).now()
    allowed = gw.cooldown_time_s + gw.health_check_interval_s + s.margin
    at = _wait_carried(run, s.primary, restored_at, allowed, f"waiting for {s.primary} again")
    drill.back_at = at
    run.measure("back_at_s", round(at, 3))
    took = round(max(0.0, at - restored_at), 3)
    run.measure("time_back_on_primary_s", took)
    run.measure("back_on_primary_allowed_s", allowed)
    return {"back_after_s": took, "allowed_s": allowed}


def _finish_load(run: Run) -> dict[str, Any]:
    drill, gen = _drill(run), _load(run)
    _wait_load(run, max(drill.settings.duration, (drill.back_at or 0.0) + 3), "after")
    if drill.monitor is not None:
        drill.monitor.stop()
    gen.stop()
    return _report(run)


def _report(run: Run) -> dict[str, Any]:
    """Figures by phase (before the fault / during / after traffic is back on the primary)."""
    drill = _drill(run)
    if drill.load is None:
        return {}
    samples = sorted(drill.load.snapshot(), key=lambda x: x.sent_s)
    fault_at, back_at = drill.fault_at, drill.back_at
    before = [x for x in samples if fault_at is None or x.sent_s < fault_at]
    during = [
        x for x in samples if fault_at is not None and x.sent_s >= fault_at and (back_at is None or x.sent_s < back_at)
    ]
    after = [x for x in samples if back_at is not None and x.sent_s >= back_at]
    first = next((x for x in samples if fault_at is not None and x.sent_s >= fault_at), None)
    report: dict[str, Any] = {
        "total": summarize(samples),
        "before": summarize(before),
        "during": summarize(during),
        "after": summarize(after),
    }
    if first is not None:
        base = report["before"]["p50_ms"]
        report["first_after_fault"] = {
            "latency_ms": round(first.latency_s * 1000, 1),
            "ok": first.ok,
            "backend": first.backend,
            "added_ms": round(first.latency_s * 1000 - base, 1) if base is not None else None,
        }
    run.record.measurements["failover"] = report
    run.record.measurements["samples"] = samples_as_dicts(samples)
    run.record.save()
    drill.report = report
    return report


def verdict(run: Run) -> dict[str, Any]:
    drill = _drill(run)
    report = drill.report or _report(run)
    _render(run, report)
    total = report["total"]
    if total["silent_truncations"]:
        raise RunbookError(
            f"{total['silent_truncations']} streamed answers ended short in good order: clients took truncated "
            "answers for complete ones (whatever --max-failed says)"
        )
    if total["failed"] > drill.settings.max_failed:
        raise RunbookError(
            f"{total['failed']} of {total['requests']} requests failed (--max-failed {drill.settings.max_failed})"
        )
    return {"failed": total["failed"], "requests": total["requests"], "streamed": total["streamed"]}


def _render(run: Run, report: dict[str, Any]) -> None:
    from rich.table import Table

    table = Table(title="failover figures")
    for col in ("phase", "requests", "failed", "p50 ms", "p99 ms", "served by"):
        table.add_column(col)
    for phase in ("before", "during", "after", "total"):
        r = report[phase]
        table.add_row(
            phase,
            str(r["requests"]),
            str(r["failed"]),
            str(r["p50_ms"]),
            str(r["p99_ms"]),
            ", ".join(f"{k}: {v}" for k, v in r["by_backend"].items()),
        )
    run.display.print(table)
    m = run.record.measurements
    first = report.get("first_after_fault") or {}
    run.log(
        f"first request after the fault: {first.get('latency_ms')} ms (+{first.get('added_ms')} ms over p50 before), "
        f"served by {first.get('backend')}; secondary carried after {m.get('time_to_secondary_s')} s; "
        f"back on primary {m.get('time_back_on_primary_s')} s after it was healthy "
        f"(allowed {m.get('back_on_primary_allowed_s')} s)"
    )


def _fault_plan(mode: str, primary: str) -> str:
    if mode in PROXY_MODES:
        return f"fault proxy in front of {primary}: {PROXY_MODES[mode]}"
    return f"docker {mode} {primary}"


def _restore_plan(mode: str, primary: str) -> str:
    return f"take the fault proxy out from in front of {primary}" if mode in PROXY_MODES else f"start/unpause {primary}"


def build(platform: Platform, options: Options) -> Runbook:
    s = settings(platform, options)

    p, sec = s.primary, s.secondary
    steady_plan = f"gateway, {p}, {sec} healthy; {s.group!r} served by {p}"
    return Runbook(
        name="failover-test",
        title=f"{s.mode} {p} under {s.rate:g} req/s of {s.group!r}; {sec} must carry it, then {p} again",
        seed="seed 004 scenario 3 (docker stop inference-chat; curl; grep retry; docker start)",
        state=lambda: Drill(s),
        steps=(
            Step("steady state", _steady_state, probe=True, summary=steady_plan),
            Step("start load", _start_load, summary=f"{s.rate:g} req/s of {s.group!r} through the gateway"),
            Step("baseline", _baseline, summary=f"{s.fault_after:g} s of load before the fault; none may fail"),
            Step("silence", _silence, summary=silence_plan(platform, [p])),
            Step(
                f"{s.mode} {p}",
                _fault,
                destructive=True,
                summary=f"{_fault_plan(s.mode, p)} (rollback: restore it; the guard does by {s.deadline_s:g} s); "
                f"halt probes every {platform.drills.probe_interval_s:g} s",
            ),
            Step(
                f"{sec} carries traffic",
                _secondary_carries,
                summary=(
                    f"observe who serves what for --hold or a cooldown + health cycle ({s.mode} spares plain answers)"
                    if s.mode in PARTIAL_MODES
                    else f"{CONSECUTIVE} answers in a row from {sec}" + (f"; hold {s.hold:g} s" if s.hold else "")
                ),
            ),
            Step(f"restore {p}", _restore_step, summary=f"{_restore_plan(s.mode, p)}; wait for its health check"),
            Step(
                f"back on {p}",
                _back_on_primary,
                summary=f"{CONSECUTIVE} answers in a row from {p} within cooldown + health interval + {s.margin:g}s",
            ),
            Step("finish load", _finish_load, summary=f"load until {s.duration:g} s, then figures by phase"),
            Step("verdict", verdict, summary=f"no silent truncation; failed requests <= --max-failed {s.max_failed}"),
        ),
    )
