"""runbook.restart on the real Docker engine: dependency order, health waits, dry-run, rollback."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from infra.spec import Platform
from runbooks.framework import ExitCode, Options, execute
from runbooks.framework.display import Display
from runbooks.framework.record import latest
from runbooks.restart import runbook as restart
from runbooks.targets.docker_target import DockerTarget
from tests.support.waiting import wait_until
from tests.unit.runbooks.conftest import unit_platform
from tests.unit.runbooks.dockerfix import docker_or_skip, fake_stack

SERVICES = ["inference-chat", "inference-code", "api-gateway"]


@pytest.fixture(scope="module")
def client() -> Any:
    return docker_or_skip()


@pytest.fixture(scope="module")
def shared(client: Any):
    """One stack for the tests that must leave it untouched (they check that they did)."""
    with fake_stack(client, unit_platform(), SERVICES) as stack:
        yield stack


def _started(platform: Platform) -> dict[str, str]:
    t = DockerTarget(platform)
    return {n: t.inspect(n)["State"]["StartedAt"] for n in SERVICES}


def _run(platform: Platform, **kw: Any) -> Any:
    extra = kw.pop("extra", {})
    opts = Options(stack=platform.stack, extra=extra, **kw)
    return execute(restart.build(platform, opts), opts, platform, display=Display(quiet=True))


def test_scope_is_the_service_and_its_dependents_in_start_order(platform: Platform) -> None:
    assert restart.scope(platform, Options(service="inference-chat")) == ["inference-chat", "api-gateway"]
    assert restart.scope(platform, Options(service="inference-chat", extra={"dependents": False})) == ["inference-chat"]
    everything = restart.scope(platform, Options())
    assert everything.index("api-gateway") > max(everything.index("inference-chat"), everything.index("inference-code"))


def test_critical_path_is_the_longest_chain_of_health_waits(platform: Platform) -> None:
    waits = {"inference-chat": 3.0, "inference-code": 5.0, "api-gateway": 2.0, "prometheus": 6.0}
    assert restart.critical_path(platform, list(waits), waits) == 7.0  # code (5) then gateway (2)


def test_restart_one_service_and_dependents_in_order(client: Any, platform: Platform) -> None:
    with fake_stack(client, platform, SERVICES) as stack:
        before = _started(stack)
        rec = _run(stack, service="inference-chat", yes=True)
        after = _started(stack)
    assert rec.exit_code == ExitCode.OK, rec.error
    assert after["inference-chat"] != before["inference-chat"] and after["api-gateway"] != before["api-gateway"]
    assert after["inference-code"] == before["inference-code"]  # not in scope: untouched
    offsets, waits = rec.measurements["start_offsets_s"], rec.measurements["time_to_healthy_s"]
    assert list(offsets) == ["inference-chat", "api-gateway"] or set(offsets) == {"inference-chat", "api-gateway"}
    # the gateway starts only once the chat backend is healthy
    assert offsets["api-gateway"] >= offsets["inference-chat"] + waits["inference-chat"] - 0.05
    assert rec.measurements["critical_path_s"] <= rec.measurements["start_total_s"] + 0.05
    assert [s.status for s in rec.steps] == ["ok", "ok", "ok", "ok"]


def test_dry_run_touches_no_container(shared: Platform) -> None:
    before = _started(shared)
    rec = _run(shared, service="inference-chat", dry_run=True)
    assert _started(shared) == before
    assert rec.status == "dry-run" and rec.exit_code == 0
    assert [s.status for s in rec.steps] == ["ok", "planned", "planned", "planned"]


def test_without_yes_nothing_is_stopped(shared: Platform) -> None:
    before = _started(shared)
    rec = _run(shared, service="inference-code")
    assert _started(shared) == before
    assert rec.status == "refused" and rec.exit_code == 1


def test_a_service_that_never_gets_healthy_is_started_again_and_exit_2(client: Any, platform: Platform) -> None:
    with fake_stack(client, platform, SERVICES, unhealthy=("inference-code",)) as stack:
        rec = _run(stack, service="inference-code", yes=True, extra={"timeout": 1.5, "dependents": False})
        state = DockerTarget(stack).state("inference-code")
    assert rec.steps[2].status == "failed" and "not healthy within 1.5 s" in rec.steps[2].error
    # the halt probes on its carrier (inference-chat) stop first, then the start rollback runs
    assert [r.name for r in rec.rollbacks][:2] == ["stop the halt probes", "start inference-code and wait for health"]
    assert state.running  # the rollback started it again, even though it is still not healthy
    assert rec.exit_code == ExitCode.ROLLBACK_FAILED and rec.status == "rollback-failed"


def test_missing_container_fails_preflight_without_touching_anything(client: Any, platform: Platform) -> None:
    with fake_stack(client, platform, ["inference-chat"]) as stack:
        before = DockerTarget(stack).inspect("inference-chat")["State"]["StartedAt"]
        rec = _run(stack, service="inference-chat", yes=True)  # its dependent api-gateway has no container
        assert DockerTarget(stack).inspect("inference-chat")["State"]["StartedAt"] == before
    assert rec.exit_code == 1 and "no container for api-gateway" in rec.error


def test_dry_run_of_the_whole_stack_reports_missing_containers(shared: Platform) -> None:
    rec = _run(shared, dry_run=True)
    assert rec.status == "dry-run" and rec.exit_code == 1
    assert "no container for alertmanager, embedding, prometheus" in rec.error


def test_a_carrier_that_stops_serving_during_the_restart_halts_it(client: Any, platform: Platform) -> None:
    """While inference-chat is down its route's other backend carries the traffic: when that one
    stops answering, the restart halts, its rollback starts the scope again, and the record names
    the carrier. The gateway is kept unhealthy so the restart is still waiting when the carrier
    goes; the test makes it healthy once the halt is recorded, so the rollback can finish."""
    drills = platform.drills.model_copy(update={"probe_interval_s": 0.2, "secondary_failures": 1})
    with fake_stack(
        client, platform.model_copy(update={"drills": drills}), SERVICES, unhealthy=("api-gateway",)
    ) as stack:
        carrier = client.containers.get(f"{stack.stack}-inference-code")
        gateway = client.containers.get(f"{stack.stack}-api-gateway")

        def meanwhile() -> None:
            wait_until(lambda: _step_status("start") == "running", 60, "the restart waiting on the gateway")
            carrier.stop(timeout=0)
            wait_until(lambda: "halt" in ((latest("restart") or {}).get("measurements") or {}), 30, "the halt")
            wait_until(lambda: _healthy_from_now(gateway), 60, "the gateway started again by the rollback")

        helper = threading.Thread(target=meanwhile, daemon=True)
        helper.start()
        rec = _run(stack, service="inference-chat", yes=True, extra={"timeout": 60})
        helper.join(timeout=10)
        states = {n: DockerTarget(stack).state(n).status for n in ("inference-chat", "api-gateway")}
    halt = rec.measurements["halt"]
    assert rec.exit_code == ExitCode.FAILED and rec.status == "rolled-back", rec.error
    assert halt["condition"] == "inference-code health probes failed in a row" and "halt" in (rec.error or "")
    assert rec.steps[0].detail["halt_probes_on"] == ["inference-code"]
    assert states == {"inference-chat": "running", "api-gateway": "running"}  # the rollback started them


def test_a_carrier_already_down_does_not_stop_the_restart_it_is_only_not_watched(
    client: Any, platform: Platform
) -> None:
    """(Here without its dependent api-gateway, which needs inference-code and would refuse.)"""
    with fake_stack(client, platform, SERVICES) as stack:
        client.containers.get(f"{stack.stack}-inference-code").stop(timeout=0)
        rec = _run(stack, service="inference-chat", yes=True, extra={"dependents": False})
    assert rec.exit_code == ExitCode.OK, rec.error
    assert rec.steps[0].detail["halt_probes_on"] == [] and rec.steps[0].detail["carriers_down"] == ["inference-code"]


def _step_status(name: str) -> str | None:
    found = latest("restart")
    return next((s["status"] for s in found["steps"] if s["name"] == name), None) if found else None


def _healthy_from_now(container: Any) -> bool:
    """Give a fake container its health file; False while it is not running (nothing to exec in)."""
    import docker.errors

    try:
        return container.exec_run(["sh", "-c", "echo ok > /www/health"]).exit_code == 0
    except docker.errors.APIError:
        return False
