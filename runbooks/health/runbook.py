"""runbook.health: every health endpoint of the stack at once, plus load, gateway and Prometheus views.

Replaces seed 004's `health_check.sh` (a sequential curl loop over a copied port list). All
requests go out in parallel (httpx async); each uses its service's own timeout from config; a
host that times out on connect is marked dead so that nothing else waits on it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpx

from infra.render.gateway import backend_of
from infra.spec.model import Platform, Role, Service
from runbooks.framework import Options, Run, Runbook, RunbookError, Step
from runbooks.probes import gateway_headers, health_url

# seed 001: 0 busy slots = idle, 1 = normal, >= 2 = busy, >= 4 = very busy
LEVELS = ((4, "very busy"), (2, "busy"), (1, "normal"), (0, "idle"))
NOT_NEEDED = (Role.MONITORING, Role.TEST_SUPPORT)


def load_level(busy: int) -> str:
    return next(name for floor, name in LEVELS if busy >= floor)


def busy_slots(slots: Any) -> tuple[int, int]:
    """(busy, total) from llama-server `/slots`: `is_processing` (current) or `state != 0` (older)."""
    if not isinstance(slots, list):
        raise ValueError("/slots did not answer a list")
    busy = sum(1 for s in slots if s.get("is_processing", s.get("state", 0) != 0))
    return busy, len(slots)


def requests_processing(metrics_text: str) -> int:
    """`llamacpp:requests_processing` from llama-server `/metrics` (the fallback when /slots is off)."""
    for line in metrics_text.splitlines():
        if line.startswith("llamacpp:requests_processing"):
            return int(float(line.split()[-1]))
    raise ValueError("llamacpp:requests_processing not in /metrics")


@dataclass
class ServiceHealth:
    service: str
    role: str
    needed: bool
    url: str
    state: str = "unknown"  # up | down | loading | unreachable | skipped
    http_status: int | None = None
    latency_ms: float | None = None
    error: str | None = None
    load: dict[str, Any] | None = None
    gateway: str | None = None  # the gateway's view of this backend
    prometheus: str | None = None  # Prometheus' view of this scrape target
    container: str | None = None  # the target's view, for services that are down

    @property
    def up(self) -> bool:
        return self.state == "up"


@dataclass
class HealthReport:
    services: list[ServiceHealth]
    elapsed_s: float
    notes: list[str] = field(default_factory=list)

    @property
    def down_needed(self) -> list[str]:
        return [s.service for s in self.services if s.needed and not s.up]

    @property
    def down_other(self) -> list[str]:
        return [s.service for s in self.services if not s.needed and not s.up]

    def to_dict(self) -> dict[str, Any]:
        return {
            "services": [asdict(s) for s in self.services],
            "elapsed_s": round(self.elapsed_s, 3),
            "down_needed": self.down_needed,
            "down_other": self.down_other,
            "notes": self.notes,
        }


class HostGate:
    """Hosts that timed out on connect: later checks to them are skipped, so a dead host costs one timeout."""

    def __init__(self) -> None:
        self.dead: set[str] = set()

    async def get(self, client: httpx.AsyncClient, url: str, timeout_s: float, **kw: Any) -> httpx.Response:
        host = urlsplit(url).hostname or ""
        if host in self.dead:
            raise httpx.ConnectTimeout(f"host {host} already timed out")
        try:
            return await client.get(url, timeout=timeout_s, **kw)
        except httpx.ConnectTimeout:
            self.dead.add(host)
            raise


async def _check_health(
    client: httpx.AsyncClient, gate: HostGate, platform: Platform, row: ServiceHealth, svc: Service, done: asyncio.Event
) -> None:
    try:
        await _probe_health(client, gate, row, svc)
    finally:
        done.set()


async def _probe_health(client: httpx.AsyncClient, gate: HostGate, row: ServiceHealth, svc: Service) -> None:
    t0 = time.monotonic()
    try:
        resp = await gate.get(client, row.url, svc.health.timeout_s)
    except httpx.TimeoutException as err:
        row.state, row.error = "unreachable", f"timeout after {svc.health.timeout_s:g} s ({type(err).__name__})"
        return
    except httpx.ConnectError:
        row.state, row.error = "down", "connection refused"
        return
    except httpx.HTTPError as err:
        row.state, row.error = "down", f"{type(err).__name__}: {err}"
        return
    finally:
        row.latency_ms = round((time.monotonic() - t0) * 1000, 1)
    row.http_status = resp.status_code
    if resp.status_code == svc.health.expect_status:
        row.state = "up"
    elif resp.status_code == 503 and svc.llama is not None:
        row.state, row.error = "loading", "503: model still loading"
    else:
        row.state, row.error = "down", f"HTTP {resp.status_code} (expected {svc.health.expect_status})"


async def _check_load(
    client: httpx.AsyncClient, gate: HostGate, platform: Platform, row: ServiceHealth, svc: Service
) -> None:
    try:
        resp = await gate.get(client, platform.url(svc, "/slots"), svc.health.timeout_s)
        if resp.status_code == 200:
            busy, total = busy_slots(resp.json())
            row.load = {"busy": busy, "slots": total, "level": load_level(busy), "source": "/slots"}
            return
        if svc.metrics_path:
            resp = await gate.get(client, platform.url(svc, svc.metrics_path), svc.health.timeout_s)
            if resp.status_code == 200:
                busy = requests_processing(resp.text)
                row.load = {"busy": busy, "slots": None, "level": load_level(busy), "source": svc.metrics_path}
    except (httpx.HTTPError, ValueError):
        row.load = None


async def _gateway_view(
    client: httpx.AsyncClient,
    gate: HostGate,
    platform: Platform,
    gw: Service,
    rows: dict[str, ServiceHealth],
    notes: list[str],
) -> None:
    """LiteLLM `/health`: its verdict on each deployment, folded onto the backend services."""
    headers = gateway_headers(platform.stack)
    if not headers:
        notes.append("gateway view skipped: no gateway master key for this stack (INFEROPS_GATEWAYMASTERKEY)")
        return
    try:
        resp = await gate.get(client, platform.url(gw, "/health"), max(gw.health.timeout_s, 10), headers=headers)
        body = resp.json() if resp.status_code == 200 else None
    except (httpx.HTTPError, ValueError) as err:
        notes.append(f"gateway view unavailable: {type(err).__name__}")
        return
    if body is None:
        notes.append(f"gateway view unavailable: HTTP {resp.status_code}")
        return
    internal = {platform.internal_url(s, "/v1").rstrip("/"): s.name for s in platform.enabled()}
    verdicts: dict[str, list[bool]] = {}
    for healthy, key in ((True, "healthy_endpoints"), (False, "unhealthy_endpoints")):
        for ep in body.get(key) or []:
            backend = _backend_of_endpoint(platform, ep, internal)
            if backend:
                verdicts.setdefault(backend, []).append(healthy)
    for backend, oks in verdicts.items():
        if backend in rows:
            rows[backend].gateway = "healthy" if all(oks) else f"unhealthy ({oks.count(False)}/{len(oks)})"


def _backend_of_endpoint(platform: Platform, ep: dict[str, Any], internal: dict[str, str]) -> str | None:
    model_id = ep.get("model_id") or (ep.get("model_info") or {}).get("id")
    if model_id:
        try:
            return backend_of(platform, model_id)
        except KeyError:
            pass
    api_base = str(ep.get("api_base") or "").rstrip("/")
    return internal.get(api_base)


async def _prometheus_view(
    client: httpx.AsyncClient,
    gate: HostGate,
    platform: Platform,
    prom: Service,
    rows: dict[str, ServiceHealth],
    notes: list[str],
) -> None:
    try:
        resp = await gate.get(client, platform.url(prom, "/api/v1/targets?state=active"), prom.health.timeout_s)
        targets = resp.json()["data"]["activeTargets"] if resp.status_code == 200 else None
    except (httpx.HTTPError, ValueError, KeyError) as err:
        notes.append(f"prometheus view unavailable: {type(err).__name__}")
        return
    if targets is None:
        notes.append(f"prometheus view unavailable: HTTP {resp.status_code}")
        return
    for t in targets:
        labels = t.get("labels") or {}
        name = labels.get("service") or labels.get("job")
        if name in rows:
            health = t.get("health", "unknown")
            rows[name].prometheus = health if health == "up" else f"{health}: {t.get('lastError') or ''}".strip(": ")


async def _after_up(
    rows: dict[str, ServiceHealth],
    done: dict[str, asyncio.Event],
    name: str,
    notes: list[str],
    view: Coroutine[Any, Any, None],
) -> None:
    """Ask a service for its view in parallel with its health check; drop the view if that check fails
    (so a dead gateway costs its one health timeout, not a second one for the view)."""
    task = asyncio.create_task(view)
    if name in done:
        await done[name].wait()
        if not rows[name].up:
            task.cancel()
            notes.append(f"{name} view skipped: {name} is {rows[name].state}")
            return
    await task


def _views(
    client: httpx.AsyncClient,
    gate: HostGate,
    platform: Platform,
    services: list[Service],
    rows: dict[str, ServiceHealth],
    done: dict[str, asyncio.Event],
    notes: list[str],
) -> list[Coroutine[Any, Any, None]]:
    """The gateway's view of the backends and Prometheus' view of its targets, where published."""
    jobs: list[Coroutine[Any, Any, None]] = []
    gateways = [s for s in platform.by_role(Role.GATEWAY) if platform.reachable(s)]
    if gateways and any(s.llama is not None for s in services):
        gw = gateways[0]
        jobs.append(_after_up(rows, done, gw.name, notes, _gateway_view(client, gate, platform, gw, rows, notes)))
    proms = [s for s in platform.enabled() if s.name == "prometheus" and platform.reachable(s)]
    if proms:
        view = _prometheus_view(client, gate, platform, proms[0], rows, notes)
        jobs.append(_after_up(rows, done, proms[0].name, notes, view))
    return jobs


async def sweep(platform: Platform, services: list[Service], client: httpx.AsyncClient | None = None) -> HealthReport:
    """Check `services` (and the gateway's and Prometheus' views of them), all in parallel."""
    gate = HostGate()
    notes: list[str] = []
    rows = {
        s.name: ServiceHealth(s.name, s.role.value, s.role not in NOT_NEEDED, health_url(platform, s)) for s in services
    }
    own = client is None
    client = client or httpx.AsyncClient()  # its TLS context costs ~20 ms: set up before the clock starts
    anyio.current_time()  # loads httpcore's async backend (~20 ms of imports on first use) before it too
    t0 = time.monotonic()
    try:
        done = {s.name: asyncio.Event() for s in services}
        # The views are the slowest answers (the gateway's verdicts, Prometheus' target list):
        # they go out first, so the rest are sent while those are being worked on.
        jobs = _views(client, gate, platform, services, rows, done, notes)
        for svc in services:
            if not platform.reachable(svc):
                rows[svc.name].state, rows[svc.name].error = "skipped", "not published on the host"
                done[svc.name].set()
                continue
            jobs.append(_check_health(client, gate, platform, rows[svc.name], svc, done[svc.name]))
            if svc.llama is not None and not svc.llama.embeddings:
                jobs.append(_check_load(client, gate, platform, rows[svc.name], svc))
        await asyncio.gather(*jobs)
        elapsed = time.monotonic() - t0
    finally:
        if own:
            await client.aclose()
    if gate.dead:
        notes.append(f"dead hosts (one timeout each): {', '.join(sorted(gate.dead))}")
    return HealthReport(list(rows.values()), elapsed, notes)


def _explain_down(run: Run, report: HealthReport) -> None:
    """For services that are down, what the target says about their container (exited, OOM-killed)."""
    down = [r for r in report.services if not r.up]
    if not down:
        return
    from runbooks.targets import TargetError, target_for

    try:
        target = target_for(run.stack_platform)
        for row in down:
            st = target.state(row.service)
            extra = f" ({st.exit_code})" if st.status == "exited" else ""
            row.container = f"{st.status}{extra}" + (" OOM-killed" if st.oom_killed else "")
    except (TargetError, Exception) as err:  # the sweep's verdict stands without this detail
        report.notes.append(f"container state unavailable: {type(err).__name__}: {err}")


def render(run: Run, report: HealthReport) -> None:
    from infra.fitted_table import fitted

    colours = {"up": "green", "loading": "yellow"}
    rows = []
    for r in report.services:
        colour = colours.get(r.state, "red")
        load = f"{r.load['level']} ({r.load['busy']}/{r.load['slots'] or '?'})" if r.load else ""
        note = r.error or ""
        if r.container:
            note = f"{note}; container {r.container}".strip("; ")
        if not r.needed:
            note = f"{note} [dim](monitoring)[/]".strip()
        row = [r.service, f"[{colour}]{r.state}[/]", str(r.http_status or ""), str(r.latency_ms or ""), load]
        rows.append([*row, r.gateway or "", r.prometheus or "", note])
    title = f"health of stack {run.options.stack!r} ({report.elapsed_s * 1000:.0f} ms)"
    columns = ("service", "state", "http", "ms", "load", "gateway", "prometheus", "note")
    fitted(run.display.console, title, columns, rows, notes="note", no_wrap=("service",))
    for note in report.notes:
        run.display.info(f"[dim]{note}[/]")


def _sweep_step(run: Run) -> dict[str, Any]:
    platform = run.stack_platform
    strict = bool(run.options.extra.get("strict"))
    names = [run.options.service] if run.options.service else [s.name for s in platform.enabled()]
    report = asyncio.run(sweep(platform, [platform.service(n) for n in names]))
    _explain_down(run, report)
    render(run, report)
    run.measure("health", report.to_dict())
    down = report.down_needed + (report.down_other if strict else [])
    if down:
        raise RunbookError(f"down: {', '.join(down)}")
    return {"up": sum(r.up for r in report.services), "checked": len(report.services)}


def build(platform: Platform, options: Options) -> Runbook:
    services = [options.service] if options.service else [s.name for s in platform.enabled()]
    urls = ", ".join(health_url(platform, platform.service(n)) for n in services[:3])
    more = f" and {len(services) - 3} more" if len(services) > 3 else ""
    return Runbook(
        name="health",
        title="all health checks in parallel, with load, gateway and Prometheus views",
        seed="seed 004 health_check.sh (sequential curl loop) and `docker compose ps`",
        exclusive=False,
        steps=(
            Step(
                "sweep",
                _sweep_step,
                summary=f"GET {urls}{more}; /slots of inference servers; gateway /health; Prometheus targets",
            ),
        ),
    )
