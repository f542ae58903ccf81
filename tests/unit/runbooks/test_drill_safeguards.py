"""Halt conditions against a llama-server double on loopback (real HTTP), drill silences' scope
from the real rules, and the `inferops:drills` limits' validation."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from infra.spec.errors import ConfigError
from infra.spec.stackconfig import platform_from_config
from runbooks.drill import HaltMonitor
from runbooks.framework.silence import drill_alerts, matchers_for
from runbooks.load import Sample
from tests.doubles.llama_double import LlamaDouble
from tests.unit.runbooks.conftest import TEST_STACK, unit_platform

SECONDARY = "inference-code"


class Traffic:
    """The drill's own samples (what LoadGenerator.snapshot returns)."""

    def __init__(self, samples: list[Sample]) -> None:
        self.samples = samples

    def now(self) -> float:
        return 100.0

    def snapshot(self, since_s: float = 0.0) -> list[Sample]:
        return [s for s in self.samples if s.sent_s >= since_s]


def _samples(n: int, failed: int, latency_s: float = 0.05) -> list[Sample]:
    return [Sample(95.0 + i * 0.1, latency_s, i >= failed, 200, SECONDARY) for i in range(n)]


@pytest.fixture
def double():
    with LlamaDouble() as d:
        yield d


def _monitor(double: LlamaDouble, traffic: Traffic, **limits: Any) -> HaltMonitor:
    base = unit_platform()
    svc = base.services[SECONDARY]
    services = {**base.services, SECONDARY: svc.model_copy(update={"host_port": double.port})}
    platform = base.model_copy(
        update={"services": services, "drills": base.drills.model_copy(update={"probe_interval_s": 1.0, **limits})}
    )
    run = SimpleNamespace(stack_platform=platform, record=SimpleNamespace(measurements={}), halt=lambda reason: None)
    return HaltMonitor(run, traffic, [SECONDARY])  # type: ignore[arg-type]


def _check(monitor: HaltMonitor) -> Any:
    with httpx.Client() as client:
        return monitor.check(client)


def test_a_healthy_drill_breaches_nothing(double: LlamaDouble) -> None:
    monitor = _monitor(double, Traffic(_samples(20, failed=1)))
    assert _check(monitor) is None
    seen = monitor.last[SECONDARY]
    assert seen["healthy"] and seen["idle_slots"] == 2
    assert seen["requests_deferred"] == 0.0 and monitor.last["failed_ratio"] == 0.05


def test_failed_ratio_of_the_drills_own_traffic(double: LlamaDouble) -> None:
    breach = _check(_monitor(double, Traffic(_samples(10, failed=6))))
    assert breach.condition == "gateway failed-request ratio" and breach.value == 0.6 and breach.limit == 0.5


def test_p95_latency(double: LlamaDouble) -> None:
    breach = _check(_monitor(double, Traffic(_samples(10, failed=0, latency_s=4.0)), max_p95_latency_s=3.0))
    assert breach.condition == "gateway p95 latency s" and breach.value == 4.0


def test_too_few_requests_are_not_judged(double: LlamaDouble) -> None:
    assert _check(_monitor(double, Traffic(_samples(3, failed=3)))) is None


def test_requests_deferred_and_idle_slots_on_the_secondary(double: LlamaDouble) -> None:
    double.deferred = 12
    breach = _check(_monitor(double, Traffic([])))
    assert breach.condition == f"{SECONDARY} llamacpp:requests_deferred" and breach.value == 12.0
    double.deferred, double.busy = 0, 2
    breach = _check(_monitor(double, Traffic([]), min_idle_slots=1))
    assert breach.condition == f"{SECONDARY} idle slots" and breach.value == 0


def test_secondary_down(double: LlamaDouble) -> None:
    monitor = _monitor(double, Traffic([]))
    double.stop()
    breach = _check(monitor)
    assert breach.condition == f"{SECONDARY} health probes failed in a row" and breach.value == 1


def test_silence_scope_comes_from_the_rules() -> None:
    platform = unit_platform()
    assert set(drill_alerts(platform, "inference-chat")) == {"ServiceDown", "InferenceBackendDown"}
    assert drill_alerts(platform, "embedding") == ["ServiceDown"]
    m = matchers_for(["ServiceDown", "InferenceBackendDown"], "inference-chat")
    assert m[0] == {"name": "alertname", "value": "ServiceDown|InferenceBackendDown", "isRegex": True, "isEqual": True}
    assert m[1]["name"] == "service" and m[1]["value"] == "inference-chat" and not m[1]["isRegex"]


@pytest.mark.parametrize(
    ("key", "value"), [("max_failed_ratio", 2), ("probe_interval_s", 0), ("secondary_failures", 0), ("nope", 1)]
)
def test_bad_limits_are_named(key: str, value: Any) -> None:
    with pytest.raises(ConfigError) as err:
        platform_from_config("unit", {**TEST_STACK, "drills": {key: value}}, source="test")
    assert f"drills.{key}" in str(err.value)


def test_the_plan_and_so_the_dry_run_shows_the_silence() -> None:
    from runbooks.failover import runbook as failover
    from runbooks.framework import Options

    platform = unit_platform()
    book = failover.build(platform, Options(stack="unit", extra={"mode": "stop"}))
    (step,) = [s for s in book.steps if s.name == "silence"]
    assert step.summary.startswith('silence alertname=~"InferenceBackendDown|ServiceDown",service="inference-chat"')
    no_am = platform.model_copy(
        update={"services": {k: v for k, v in platform.services.items() if k != "alertmanager"}}
    )
    book = failover.build(no_am, Options(stack="unit"))
    assert [s.summary for s in book.steps if s.name == "silence"] == ["no Alertmanager in the stack: no silence"]


def test_record_merge_keeps_the_furthest_state_of_each_undo() -> None:
    from runbooks.framework.record import merge_undos

    mine = [{"id": "a", "status": "running"}, {"id": "b", "status": "pending"}]
    theirs = [
        {"id": "a", "status": "done", "by": "guard"},
        {"id": "b", "status": "pending"},
        {"id": "c", "status": "x"},
    ]
    merged = merge_undos(mine, theirs)
    assert [(u["id"], u["status"]) for u in merged] == [("a", "done"), ("b", "pending"), ("c", "x")]
    assert mine[0]["by"] == "guard"  # the runner's own entry learns what the guard did
