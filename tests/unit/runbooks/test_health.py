"""runbook.health against real HTTP servers on localhost that answer like the real components."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from infra.spec import Platform
from runbooks.framework import ExitCode, Options, execute
from runbooks.framework.display import Display
from runbooks.health import runbook as health
from tests.doubles.serving import free_port
from tests.unit.runbooks.fakes import (
    FakeServer,
    Rendezvous,
    blackholes,
    gateway,
    llama,
    on_ports,
    prometheus,
    serving,
)

KEY = "test-master-key"


@pytest.fixture(autouse=True)
def master_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INFEROPS_GATEWAYMASTERKEY", KEY)


def _fakes(platform: Platform, **overrides: FakeServer) -> dict[str, FakeServer]:
    ports = {n: s.port for n, s in platform.services.items()}
    fakes = {
        "inference-chat": FakeServer(llama(busy=2, slots=4)),
        "inference-code": FakeServer(llama(busy=0)),
        "embedding": FakeServer(llama()),
        "api-gateway": FakeServer(gateway(KEY, ["inference-chat"], ["inference-code"], ports)),
        "prometheus": FakeServer(prometheus(up=["inference-chat", "api-gateway"], down=["inference-code"])),
        "alertmanager": FakeServer({"/-/ready": lambda _h: (200, "OK")}),
    }
    fakes.update(overrides)
    return fakes


def _sweep(platform: Platform, names: list[str] | None = None) -> health.HealthReport:
    services = [platform.service(n) for n in names] if names else platform.enabled()
    return asyncio.run(health.sweep(platform, services))


@pytest.mark.parametrize(
    ("busy", "level"), [(0, "idle"), (1, "normal"), (2, "busy"), (3, "busy"), (4, "very busy"), (9, "very busy")]
)
def test_load_levels_follow_seed_001(busy: int, level: str) -> None:
    assert health.load_level(busy) == level


def test_all_up_with_load_gateway_and_prometheus_views(platform: Platform) -> None:
    with serving(_fakes(platform)) as fakes:
        platform = on_ports(platform, {n: f.port for n, f in fakes.items()})
        report = _sweep(platform)
    rows = {r.service: r for r in report.services}
    assert report.down_needed == [] and report.down_other == []
    assert all(r.state == "up" and r.http_status == 200 for r in rows.values())
    assert rows["inference-chat"].load == {"busy": 2, "slots": 4, "level": "busy", "source": "/slots"}
    assert rows["inference-code"].load["level"] == "idle"
    assert rows["embedding"].load is None  # embedding servers are not inference backends
    assert rows["inference-chat"].gateway == "healthy"
    assert rows["inference-code"].gateway == "unhealthy (1/1)"
    assert rows["inference-chat"].prometheus == "up"
    assert rows["inference-code"].prometheus == "down: connection refused"
    # every health path came from the service table
    assert fakes["api-gateway"].hits.count(platform.service("api-gateway").health.path) == 1


def test_metrics_fallback_when_slots_endpoint_is_off(platform: Platform) -> None:
    with serving(_fakes(platform, **{"inference-code": FakeServer(llama(busy=5, slots_endpoint=False))})) as fakes:
        report = _sweep(on_ports(platform, {n: f.port for n, f in fakes.items()}), ["inference-code"])
    assert report.services[0].load == {"busy": 5, "slots": None, "level": "very busy", "source": "/metrics"}


def test_loading_model_is_not_up(platform: Platform) -> None:
    with serving(_fakes(platform, **{"inference-chat": FakeServer(llama(loading=True))})) as fakes:
        report = _sweep(on_ports(platform, {n: f.port for n, f in fakes.items()}))
    row = next(r for r in report.services if r.service == "inference-chat")
    assert row.state == "loading" and row.http_status == 503
    assert report.down_needed == ["inference-chat"]


def test_gateway_view_needs_the_master_key(platform: Platform, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INFEROPS_GATEWAYMASTERKEY", "wrong")
    with serving(_fakes(platform)) as fakes:
        report = _sweep(on_ports(platform, {n: f.port for n, f in fakes.items()}))
    assert all(r.gateway is None for r in report.services)
    assert "gateway view unavailable: HTTP 401" in report.notes


def test_checks_run_in_parallel(platform: Platform) -> None:
    """Every server holds its requests until one request of each server is in flight at once: a
    sweep that asked one by one would wait out its own timeout on the first and see it down."""
    fakes = _fakes(platform)
    meeting = Rendezvous(parties=len(fakes))
    for f in fakes.values():
        f.rendezvous = meeting
    with serving(fakes):
        platform = on_ports(platform, {n: f.port for n, f in fakes.items()})
        report = _sweep(platform)
    requests = sum(len(f.hits) for f in fakes.values())
    assert requests >= 10  # health, slots, gateway and prometheus views
    assert meeting.peak >= len(fakes), f"at most {meeting.peak} of {len(fakes)} servers had a request at once"
    assert report.down_needed == []


def test_dead_host_costs_one_timeout(platform: Platform) -> None:
    names = [s.name for s in platform.enabled()]
    with blackholes(len(names)) as ports:
        platform = on_ports(platform, dict(zip(names, ports, strict=True)), timeout_s=0.5)
        t0 = time.monotonic()
        report = _sweep(platform)
        took = time.monotonic() - t0
    assert {r.state for r in report.services} == {"unreachable"}
    assert took < 0.5 * 2, f"dead host cost {took:.2f} s"
    assert any("dead hosts" in n for n in report.notes)


def test_host_gate_skips_a_host_after_a_connect_timeout() -> None:
    async def go() -> tuple[float, float]:
        gate = health.HostGate()
        async with httpx.AsyncClient() as client:
            with blackholes(1) as (port,):
                t0 = time.monotonic()
                with pytest.raises(httpx.ConnectTimeout):
                    await gate.get(client, f"http://127.0.0.1:{port}/health", 0.3)
                first = time.monotonic() - t0
                t0 = time.monotonic()
                with pytest.raises(httpx.ConnectTimeout, match="already timed out"):
                    await gate.get(client, f"http://127.0.0.1:{port}/slots", 0.3)
                return first, time.monotonic() - t0

    first, second = asyncio.run(go())
    assert first >= 0.25 and second < 0.05


def test_runbook_exits_1_naming_the_stopped_service(platform: Platform) -> None:
    fakes = _fakes(platform)
    del fakes["inference-code"]  # stopped: nothing listens on its port
    with serving(fakes):
        ports = {n: f.port for n, f in fakes.items()}
        ports["inference-code"] = free_port()
        platform = on_ports(platform, ports)
        rec = execute(health.build(platform, Options()), Options(), platform, display=Display(quiet=True))
    assert rec.exit_code == ExitCode.FAILED
    assert rec.error.endswith("down: inference-code")
    services = {s["service"]: s for s in rec.measurements["health"]["services"]}
    assert services["inference-code"]["state"] == "down"
    assert services["inference-chat"]["state"] == "up"


def test_monitoring_down_is_reported_but_only_strict_fails(platform: Platform) -> None:
    fakes = _fakes(platform)
    fakes["alertmanager"] = FakeServer({"/-/ready": lambda _h: (503, "not ready")})
    with serving(fakes):
        platform = on_ports(platform, {n: f.port for n, f in fakes.items()})
        lenient = execute(health.build(platform, Options()), Options(), platform, display=Display(quiet=True))
        strict_opts = Options(extra={"strict": True})
        strict = execute(health.build(platform, strict_opts), strict_opts, platform, display=Display(quiet=True))
    assert lenient.exit_code == 0
    assert lenient.measurements["health"]["down_other"] == ["alertmanager"]
    assert strict.exit_code == 1 and "alertmanager" in strict.error
