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
from typing import Any

import httpx

from infra.render.gateway import backend_of
from infra.spec.model import Platform, Role
from runbooks.drill import HaltMonitor, scoped_silence, silence_plan
from runbooks.faults.modes import MODES, PROXY_MODES, Fault
from runbooks.framework import BadInput, Options, Run, Runbook, RunbookError, Step
from runbooks.load import LoadGenerator, Sample, samples_as_dicts, summarize
from runbooks.probes import gateway_headers, probe_once, wait_healthy
from runbooks.targets import Target, target_for

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


def settings(platform: Platform, options: Options) -> dict[str, Any]:
    """Validated options; BadInput names the option and what is allowed."""
    s = {k: (options.extra.get(k) if options.extra.get(k) is not None else v) for k, v in DEFAULTS.items()}
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
    s["primary"], s["secondary"] = routes[s["group"]][0], routes[s["group"]][1]
    s["deadline_s"] = drill_deadline(platform, s)
    return s


def drill_deadline(platform: Platform, s: dict[str, Any]) -> float:
    """Seconds from the fault by which the primary must be back whatever happens: the guard runs
    the undo then, and the drill's silence ends then (the load, the hold, the gateway's return
    to the primary, the primary's own start-up, a minute of margin)."""
    gw = platform.gateway
    ready = platform.service(s["primary"]).health.ready_within_s
    back = gw.cooldown_time_s + gw.health_check_interval_s + s["margin"]
    return round(s["duration"] + s["hold"] + back + ready + platform.tuning.LLM_REQUEST_TIMEOUT + 60, 1)


def _served_by(platform: Platform) -> Any:
    def served(resp: httpx.Response) -> str | None:
        model_id = resp.headers.get("x-litellm-model-id")
        try:
            return backend_of(platform, model_id) if model_id else None
        except KeyError:
            return None

    return served


def _payload(s: dict[str, Any]) -> dict[str, Any]:
    return {
        "model": s["group"],
        "messages": [{"role": "user", "content": "Reply with one word: ok"}],
        "max_tokens": s["max_tokens"],
        "temperature": 0,
    }


def _gateway_url(platform: Platform) -> str:
    gateways = platform.by_role(Role.GATEWAY)
    if not gateways:
        raise RunbookError(f"stack {platform.stack!r} has no gateway service")
    return platform.url(gateways[0], "/v1/chat/completions")


def _target(run: Run) -> Target:
    if "target" not in run.state:
        run.state["target"] = target_for(run.platform)
    return run.state["target"]


def _steady_state(run: Run) -> dict[str, Any]:
    platform, s = run.platform, run.state["settings"]
    gw = platform.by_role(Role.GATEWAY)[0]
    names = [gw.name, s["primary"], s["secondary"]]

    async def check() -> tuple[list[str], list[str | None]]:
        async with httpx.AsyncClient() as client:
            oks = await asyncio.gather(*(probe_once(client, platform, platform.service(n)) for n in names))
            served = []
            for _ in range(CONSECUTIVE):
                resp = await client.post(
                    _gateway_url(platform),
                    json=_payload(s),
                    headers=gateway_headers(platform.stack),
                    timeout=platform.tuning.LLM_REQUEST_TIMEOUT,
                )
                if resp.status_code != 200:
                    raise RunbookError(f"gateway answered {resp.status_code}: {resp.text[:200]}")
                served.append(_served_by(platform)(resp))
        return [n for n, ok in zip(names, oks, strict=True) if not ok], served

    down, served = asyncio.run(check())
    if down:
        raise RunbookError(f"steady state not met: {', '.join(down)} not healthy")
    if any(b != s["primary"] for b in served):
        raise RunbookError(f"steady state not met: requests for {s['group']!r} served by {served}, not {s['primary']}")
    return {"served_by": served}


def _start_load(run: Run) -> dict[str, Any]:
    platform, s = run.platform, run.state["settings"]
    gen = LoadGenerator(
        _gateway_url(platform),
        _payload(s),
        s["rate"],
        _served_by(platform),
        gateway_headers(platform.stack),
        timeout_s=platform.tuning.LLM_REQUEST_TIMEOUT,
        stream_share=s["stream_share"],
    )
    gen.start()
    run.state["load"] = gen
    run.cleanup("stop the load generator", lambda: (gen.stop(), _report(run)))
    return {"rate": s["rate"], "url": gen.url, "streamed_share": s["stream_share"]}


def _wait_load(run: Run, until_s: float, label: str) -> None:
    gen: LoadGenerator = run.state["load"]
    while gen.now() < until_s:
        done = gen.snapshot()
        run.progress.update(f"{label}: {len(done)} answered, {sum(not x.ok for x in done)} failed")
        time.sleep(0.1)


def _baseline(run: Run) -> dict[str, Any]:
    s, gen = run.state["settings"], run.state["load"]
    _wait_load(run, s["fault_after"], "baseline")
    before = gen.snapshot()
    if any(not x.ok for x in before):
        raise RunbookError(f"{sum(not x.ok for x in before)} requests failed before any fault: steady state broken")
    return summarize(before)


def _restore_primary(run: Run) -> None:
    platform, s, target = run.platform, run.state["settings"], _target(run)
    if s["mode"] in PROXY_MODES:
        _remove_proxy(run)
    if s["mode"] == "pause":
        target.unpause(s["primary"])
    target.start(s["primary"])
    svc = platform.service(s["primary"])
    asyncio.run(wait_healthy(platform, svc, svc.health.ready_within_s, target))


def _remove_proxy(run: Run) -> None:
    """Take the fault proxy out (idempotent) and keep what it counted."""
    from runbooks.faults.inject import remove

    injection = run.state.pop("injection", None)
    if injection is not None:
        run.measure("fault_proxy", remove(injection))


def _routed_back(run: Run) -> None:
    """Wait until the gateway serves the group from the primary again, so a rolled-back run
    leaves traffic where it found it (the gateway keeps a restored backend out of rotation for
    up to its cooldown plus one health-check cycle)."""
    platform, s = run.platform, run.state["settings"]
    gw = platform.gateway
    deadline = time.monotonic() + gw.cooldown_time_s + gw.health_check_interval_s + s["margin"]

    async def served_by_primary(client: httpx.AsyncClient) -> bool:
        resp = await client.post(
            _gateway_url(platform),
            json=_payload(s),
            headers=gateway_headers(platform.stack),
            timeout=platform.tuning.LLM_REQUEST_TIMEOUT,
        )
        return resp.status_code == 200 and _served_by(platform)(resp) == s["primary"]

    async def wait() -> None:
        streak = 0
        async with httpx.AsyncClient() as client:
            while streak < CONSECUTIVE:
                if time.monotonic() > deadline:
                    raise RunbookError(f"the gateway does not route {s['group']!r} to {s['primary']} again")
                streak = streak + 1 if await served_by_primary(client) else 0
                if streak == 0:
                    await asyncio.sleep(0.5)

    asyncio.run(wait())


def _undo_fault(run: Run) -> None:
    _restore_primary(run)
    _routed_back(run)


def _silence(run: Run) -> dict[str, Any]:
    s = run.state["settings"]
    return {"silences": scoped_silence(run, [s["primary"]], s["deadline_s"])}


def _fault(run: Run) -> dict[str, Any]:
    s, target, gen = run.state["settings"], _target(run), run.state["load"]
    mode = s["mode"]
    proxied = mode in PROXY_MODES
    undo = "remove-fault-proxy" if proxied else {"kill": "start", "stop": "start", "pause": "unpause"}[mode]
    data: dict[str, Any] = {"services": [s["primary"]]}
    if proxied:
        from runbooks.faults.inject import PROXY_PORT

        port = run.platform.service(s["primary"]).port
        data = {"service": s["primary"], "port": port, "to_port": PROXY_PORT, "proxy_pid": None}
    run.state["fault_undo"] = run.on_rollback(
        f"restore {s['primary']}, wait for its health and for traffic on it",
        lambda: _undo_fault(run),
        durable=(undo, data),
        deadline_s=s["deadline_s"],
    )
    monitor = HaltMonitor(run, gen, s["secondary"])
    run.state["monitor"] = monitor
    monitor.start()
    run.cleanup("stop the halt probes", monitor.stop)
    run.state["fault_at"] = gen.now()
    if proxied:
        _inject(run, run.state["fault_undo"])
    else:
        {"kill": target.kill, "stop": target.stop, "pause": target.pause}[mode](s["primary"])
    run.measure("fault_at_s", round(run.state["fault_at"], 3))
    return {"mode": mode, "primary": s["primary"]}


def _inject(run: Run, undo: Any) -> None:
    """The fault proxy in front of the primary; its PID into the durable undo as soon as it runs."""
    from runbooks.faults.inject import inject
    from runbooks.framework.durable import guard_dir

    s = run.state["settings"]
    stats = guard_dir() / f"{run.record.id}.fault-proxy.json"
    injection = inject(run.platform, s["primary"], Fault(s["mode"]), s["deadline_s"], stats)
    run.state["injection"] = injection
    if undo.entry is not None:
        undo.entry["data"]["proxy_pid"] = injection.proxy_pid
        run.record.save()


def _carried_by(gen: LoadGenerator, backend: str, since_s: float) -> float | None:
    """Send time of the first of CONSECUTIVE answered requests (sent after `since_s`) all served by `backend`."""
    done = sorted(gen.snapshot(since_s), key=lambda x: x.sent_s)
    streak: list[Sample] = []
    for x in done:
        streak = [*streak, x] if x.ok and x.backend == backend else []
        if len(streak) >= CONSECUTIVE:
            return streak[0].sent_s
    return None


def _wait_carried(run: Run, backend: str, since_s: float, timeout_s: float, label: str) -> float:
    gen: LoadGenerator = run.state["load"]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        at = _carried_by(gen, backend, since_s)
        if at is not None:
            return at
        done = gen.snapshot(since_s)
        run.progress.update(f"{label}: {len(done)} answered since, {sum(not x.ok for x in done)} failed")
        time.sleep(0.1)
    raise RunbookError(f"{backend} did not carry the traffic within {timeout_s:g} s ({label})")


def _secondary_carries(run: Run) -> dict[str, Any]:
    platform, s = run.platform, run.state["settings"]
    timeout = platform.tuning.LLM_REQUEST_TIMEOUT + 30
    at = _wait_carried(run, s["secondary"], run.state["fault_at"], timeout, f"waiting for {s['secondary']}")
    took = round(at - run.state["fault_at"], 3)
    run.measure("time_to_secondary_s", took)
    if s["hold"]:
        _wait_load(run, run.state["fault_at"] + s["hold"], f"holding the fault {s['hold']:g} s")
    return {"secondary_from_s": took}


def _restore_step(run: Run) -> dict[str, Any]:
    gen, t0 = run.state["load"], time.monotonic()
    _restore_primary(run)
    run.state["fault_undo"].settle()  # the guard no longer needs to restore it
    run.state["restored_at"] = gen.now()
    took = round(time.monotonic() - t0, 3)
    run.measure("primary_healthy_after_s", took)
    return {"healthy_after_s": took}


def _back_on_primary(run: Run) -> dict[str, Any]:
    platform, s = run.platform, run.state["settings"]
    gw = platform.gateway
    allowed = gw.cooldown_time_s + gw.health_check_interval_s + s["margin"]
    at = _wait_carried(run, s["primary"], run.state["restored_at"], allowed, f"waiting for {s['primary']} again")
    run.state["back_at"] = at
    took = round(max(0.0, at - run.state["restored_at"]), 3)
    run.measure("time_back_on_primary_s", took)
    run.measure("back_on_primary_allowed_s", allowed)
    return {"back_after_s": took, "allowed_s": allowed}


def _finish_load(run: Run) -> dict[str, Any]:
    s, gen = run.state["settings"], run.state["load"]
    _wait_load(run, max(s["duration"], run.state["back_at"] + 3), "after")
    run.state["monitor"].stop()
    gen.stop()
    return _report(run)


def _report(run: Run) -> dict[str, Any]:
    """Figures by phase (before the fault / during / after traffic is back on the primary)."""
    gen: LoadGenerator | None = run.state.get("load")
    if gen is None:
        return {}
    samples = sorted(gen.snapshot(), key=lambda x: x.sent_s)
    fault_at, back_at = run.state.get("fault_at"), run.state.get("back_at")
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
    run.state["report"] = report
    return report


def _verdict(run: Run) -> dict[str, Any]:
    s, report = run.state["settings"], run.state["report"]
    _render(run, report)
    failed = report["total"]["failed"]
    if failed > s["max_failed"]:
        raise RunbookError(
            f"{failed} of {report['total']['requests']} requests failed (--max-failed {s['max_failed']})"
        )
    return {"failed": failed, "requests": report["total"]["requests"]}


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

    def steady(run: Run) -> dict[str, Any]:
        run.state["settings"] = s
        return _steady_state(run)

    p, sec = s["primary"], s["secondary"]
    return Runbook(
        name="failover-test",
        title=f"{s['mode']} {p} under {s['rate']:g} req/s of {s['group']!r}; {sec} must carry it, then {p} again",
        seed="seed 004 scenario 3 (docker stop inference-chat; curl; grep retry; docker start)",
        steps=(
            Step(
                "steady state", steady, probe=True, summary=f"gateway, {p}, {sec} healthy; {s['group']!r} served by {p}"
            ),
            Step("start load", _start_load, summary=f"{s['rate']:g} req/s of {s['group']!r} through the gateway"),
            Step("baseline", _baseline, summary=f"{s['fault_after']:g} s of load before the fault; none may fail"),
            Step("silence", _silence, summary=silence_plan(platform, [p])),
            Step(
                f"{s['mode']} {p}",
                _fault,
                destructive=True,
                summary=f"{_fault_plan(s['mode'], p)} (rollback: restore it; the guard does by {s['deadline_s']:g} s); "
                f"halt probes every {platform.drills.probe_interval_s:g} s",
            ),
            Step(
                f"{sec} carries traffic",
                _secondary_carries,
                summary=f"{CONSECUTIVE} answers in a row from {sec}" + (f"; hold {s['hold']:g} s" if s["hold"] else ""),
            ),
            Step(f"restore {p}", _restore_step, summary=f"{_restore_plan(s['mode'], p)}; wait for its health check"),
            Step(
                f"back on {p}",
                _back_on_primary,
                summary=f"{CONSECUTIVE} answers in a row from {p} within cooldown + health interval + {s['margin']:g}s",
            ),
            Step("finish load", _finish_load, summary=f"load until {s['duration']:g} s, then figures by phase"),
            Step("verdict", _verdict, summary=f"failed requests <= --max-failed {s['max_failed']}"),
        ),
    )
