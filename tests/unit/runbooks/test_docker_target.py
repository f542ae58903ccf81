"""DockerTarget against the real Docker engine, with busybox httpd containers as services."""

from __future__ import annotations

import time
from typing import Any

import pytest

from infra.spec import Platform
from runbooks.probes import wait_healthy_sync
from runbooks.targets import Target, TargetError, target_for
from runbooks.targets.docker_target import DockerTarget
from tests.unit.runbooks.conftest import unit_platform
from tests.unit.runbooks.dockerfix import docker_or_skip, fake_stack


@pytest.fixture(scope="module")
def client() -> Any:
    return docker_or_skip()


@pytest.fixture(scope="module")
def stack(client: Any):
    with fake_stack(client, unit_platform(), ["inference-chat"]) as p:
        yield p


def _until(fn, timeout_s: float = 10) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = fn()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


def test_compose_stack_gets_the_docker_target(platform: Platform) -> None:
    target = target_for(platform)
    assert isinstance(target, DockerTarget) and isinstance(target, Target)


def test_state_and_docker_health(stack: Platform) -> None:
    target = DockerTarget(stack)
    state = target.state("inference-chat")
    assert state.running and state.instance == f"{stack.stack}-inference-chat"
    assert _until(lambda: target.state("inference-chat").health == "healthy")
    assert target.state("inference-chat").serving
    target.stop("inference-chat", timeout_s=1)
    assert not target.state("inference-chat").serving


@pytest.mark.parametrize(
    ("status", "health", "serving"),
    [("running", "healthy", True), ("running", "none", True), ("running", "starting", False),
     ("running", "unhealthy", False), ("exited", "none", False), ("paused", "healthy", False)],
)  # fmt: skip
def test_serving_is_running_with_a_passing_or_no_health_check(status: str, health: str, serving: bool) -> None:
    from runbooks.targets.base import ServiceState

    assert ServiceState("inference-chat", status, health).serving is serving  # type: ignore[arg-type]


def test_stop_start_kill_pause_unpause_restart(stack: Platform) -> None:
    t = DockerTarget(stack)
    svc = stack.service("inference-chat")
    t.stop("inference-chat", timeout_s=1)
    assert t.state("inference-chat").status == "exited"
    t.start("inference-chat")
    assert t.state("inference-chat").running
    wait_healthy_sync(stack, svc, 10)
    t.kill("inference-chat")
    assert t.state("inference-chat").status == "exited" and t.state("inference-chat").exit_code == 137
    t.start("inference-chat")
    wait_healthy_sync(stack, svc, 10)
    t.pause("inference-chat")
    assert t.state("inference-chat").status == "paused"
    t.start("inference-chat")  # start also brings a paused (hung) service back
    assert t.state("inference-chat").running
    t.pause("inference-chat")
    t.unpause("inference-chat")
    assert t.state("inference-chat").running
    before = t.inspect("inference-chat")["State"]["StartedAt"]
    t.restart("inference-chat", timeout_s=1)
    assert t.inspect("inference-chat")["State"]["StartedAt"] != before
    assert wait_healthy_sync(stack, svc, 10) < 10


def test_hold_freezes_the_same_container_and_release_brings_it_back(stack: Platform) -> None:
    t = DockerTarget(stack)
    before = t.inspect("inference-chat")["State"]["StartedAt"]
    t.hold("inference-chat")
    assert t.state("inference-chat").status == "paused"
    t.release("inference-chat")
    assert t.state("inference-chat").running
    assert t.inspect("inference-chat")["State"]["StartedAt"] == before  # not restarted: state kept
    assert wait_healthy_sync(stack, stack.service("inference-chat"), 10) < 10


def test_logs_exec_inspect(stack: Platform) -> None:
    t = DockerTarget(stack)
    assert "booted" in _until(lambda: t.logs("inference-chat", tail=10))
    result = t.exec("inference-chat", ["cat", "/www/health"])
    assert (result.exit_code, result.output.strip()) == (0, "ok")
    assert t.exec("inference-chat", ["sh", "-c", "exit 3"]).exit_code == 3
    labels = t.inspect("inference-chat")["Config"]["Labels"]
    assert labels["io.inferops.stack"] == stack.stack and labels["io.inferops.service"] == "inference-chat"


def test_missing_and_unknown_services(stack: Platform) -> None:
    t = DockerTarget(stack)
    assert t.state("inference-code").status == "missing"
    with pytest.raises(TargetError, match=f"no container of service 'inference-code' \\(stack '{stack.stack}'\\)"):
        t.stop("inference-code")
    with pytest.raises(KeyError, match="unknown service 'nope'"):
        t.state("nope")


def test_unreachable_engine_is_a_named_error(platform: Platform) -> None:
    remote = platform.model_copy(update={"docker_host": "tcp://127.0.0.1:1"})
    with pytest.raises(TargetError, match=r"tcp://127\.0\.0\.1:1"):
        DockerTarget(remote).ping()
