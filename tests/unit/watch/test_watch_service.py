"""The watch as a service of its stack (the `watch` row): what both Docker targets deploy, the
platform file it reads instead of a stack file, and the view from inside the stack network."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from infra.observability.scrape import prometheus_config
from infra.render.containers import container_plan
from infra.render.watch import receiver_secret
from infra.spec import ConfigError, Platform, load_platform, platform_from_config
from infra.spec.alerting import Receiver
from infra.spec.defaults import HOST_ROOT_ENV, PLATFORM_FILE_ENV, WATCH_SERVICE
from infra.spec.stackconfig import read_stack_config
from infra.targets.compose_export import write_compose
from runbooks.framework.record import RUNS_ENV
from runbooks.targets.docker_target import DockerTarget
from runbooks.watch import checks
from runbooks.watch.store import STATE_ENV, StateFile

SLACK = {"name": "chat", "kind": "slack"}


def _with_watch(stack: str = "gpu-host", watch: dict[str, Any] | None = None) -> Platform:
    raw = read_stack_config(stack)
    raw["services"] = {**raw.get("services", {}), WATCH_SERVICE: {"enabled": True}}
    if watch is not None:
        raw["watch"] = watch
    return platform_from_config(stack, raw, source="test")


def test_off_by_default_on_every_stack() -> None:
    for stack in ("local", "gpu-host", "eks-prod"):
        assert WATCH_SERVICE not in {s.name for s in load_platform(stack).enabled()}, stack


def test_the_row_runs_the_loop_of_its_own_stack_with_the_socket_and_the_host_mounted() -> None:
    platform = _with_watch()
    plan = container_plan(platform, platform.service(WATCH_SERVICE))
    assert plan.command == ("runbook.watch", "--loop", "--stack", "gpu-host")
    mounts = {(v.source, v.target, v.read_only, v.host_path) for v in plan.volumes}
    assert ("/var/run/docker.sock", "/var/run/docker.sock", False, True) in mounts
    assert ("/", "/host", True, True) in mounts
    assert plan.ports == (), "its heartbeat is scraped on the stack network"
    assert "/metrics" in " ".join(plan.healthcheck.test)
    (file,) = plan.files
    assert file.path == plan.env[PLATFORM_FILE_ENV]


def test_the_environment_names_what_the_readers_read() -> None:
    env = _with_watch().service(WATCH_SERVICE).env
    assert {PLATFORM_FILE_ENV, STATE_ENV, RUNS_ENV, HOST_ROOT_ENV} <= set(env)
    assert all(env[k].startswith("/var/lib/inferops-watch/") for k in (STATE_ENV, RUNS_ENV)), "on its volume"


def test_the_platform_file_is_the_deployed_platform_seen_from_the_stack_network() -> None:
    platform = _with_watch()
    (file,) = container_plan(platform, platform.service(WATCH_SERVICE)).files
    inside = Platform.model_validate_json(file.content())
    assert inside.vantage == "stack-network" and inside.watch.metrics_port == 9098
    assert inside.model_copy(update={"vantage": "host", "watch": platform.watch}) == platform
    gateway = inside.service("api-gateway")
    assert inside.url(gateway, "/health") == "http://api-gateway:8000/health"
    assert platform.url(gateway, "/health") == "http://gpu-1:8000/health"
    assert inside.reachable(inside.service("cadvisor")) and not platform.reachable(platform.service("cadvisor"))


def test_receiver_secrets_reach_the_container_as_env_never_in_its_files(tmp_path: Path) -> None:
    platform = _with_watch(watch={"receivers": [SLACK], "explain": True})
    plan = container_plan(platform, platform.service(WATCH_SERVICE))
    assert plan.secret_env == {
        "INFEROPS_ALERTSLACKWEBHOOKURL": "alertSlackWebhookUrl",
        "INFEROPS_GATEWAYMASTERKEY": "gatewayMasterKey",
    }
    write_compose(platform, tmp_path, lambda key: f"secret-of-{key}")
    env_file = (tmp_path / "secrets" / "watch.env").read_text()
    assert "INFEROPS_ALERTSLACKWEBHOOKURL=secret-of-alertSlackWebhookUrl" in env_file
    compose = (tmp_path / "compose.yaml").read_text()
    mounted = next(tmp_path.glob("config/watch/**/platform.json")).read_text()
    assert "secret-of-" not in compose and "secret-of-" not in mounted


@pytest.mark.parametrize(
    ("receiver", "secret"),
    [
        ({"name": "a", "kind": "slack"}, "alertSlackWebhookUrl"),
        ({"name": "a", "kind": "webhook"}, "alertWebhookUrl"),
        ({"name": "a", "kind": "webhook", "service": "alert-sink"}, None),
        ({"name": "a", "kind": "synology", "service": "synology-relay"}, "alertSynologyWebhookUrl"),
        ({"name": "a", "kind": "pagerduty"}, None),
        ({"name": "a", "kind": "discard"}, None),
    ],
)
def test_the_secret_each_receiver_kind_needs(receiver: dict[str, str], secret: str | None) -> None:
    assert receiver_secret(Receiver.model_validate(receiver)) == secret


def test_prometheus_scrapes_the_heartbeat_when_the_row_is_on() -> None:
    jobs = {j["job_name"]: j for j in prometheus_config(_with_watch(), [])["scrape_configs"]}
    assert jobs[WATCH_SERVICE]["static_configs"][0]["targets"] == ["watch:9098"]
    off = prometheus_config(load_platform("gpu-host"), [])["scrape_configs"]
    assert WATCH_SERVICE not in {j["job_name"] for j in off}


def _file(tmp_path: Path, platform: Platform) -> Path:
    path = tmp_path / "platform.json"
    path.write_text(platform.model_dump_json())
    return path


def test_load_platform_reads_the_platform_file_inside_the_stack(tmp_path, monkeypatch) -> None:
    platform = _with_watch().model_copy(update={"vantage": "stack-network"})
    monkeypatch.setenv(PLATFORM_FILE_ENV, str(_file(tmp_path, platform)))
    assert load_platform("gpu-host") == platform


@pytest.mark.parametrize(
    ("content", "key", "says"),
    [
        (None, PLATFORM_FILE_ENV, "cannot read it"),
        ("{not json", "", "redeploy"),
        ("wrong-stack", "--stack", "pass --stack gpu-host"),
    ],
)
def test_a_bad_platform_file_is_a_config_error_naming_the_fix(tmp_path, monkeypatch, content, key, says) -> None:
    path = tmp_path / "platform.json"
    if content == "wrong-stack":
        path = _file(tmp_path, _with_watch())
        stack = "local"
    else:
        stack = "gpu-host"
        if content is not None:
            path.write_text(content)
    monkeypatch.setenv(PLATFORM_FILE_ENV, str(path))
    with pytest.raises(ConfigError) as err:
        load_platform(stack)
    assert says in str(err.value) and (not key or err.value.keys == [key])


def test_inside_the_stack_docker_is_the_mounted_socket_never_the_operators_ssh_host() -> None:
    platform = _with_watch()
    assert DockerTarget(platform).engine_host == "ssh://ops@gpu-1"
    inside = platform.model_copy(update={"vantage": "stack-network"})
    assert DockerTarget(inside).engine_host is None and DockerTarget(inside).where == "the local Docker engine"


async def test_the_disk_check_reads_the_hosts_mounts_under_the_host_root(tmp_path, monkeypatch) -> None:
    """Inside the container the host's / is at /host: the check measures it there, names it `/`."""
    platform = _with_watch(watch={"disk_mounts": ["/"], "disk_warn_pct": 0.001})
    monkeypatch.setenv(HOST_ROOT_ENV, str(tmp_path / "no-such-root"))
    with pytest.raises(FileNotFoundError):
        await checks.disk(platform, StateFile(), None)  # type: ignore[arg-type]
    monkeypatch.setenv(HOST_ROOT_ENV, str(tmp_path))
    (issue,) = await checks.disk(platform, StateFile(), None)  # type: ignore[arg-type]
    assert issue.target == "/" and issue.key == "disk:gpu-1:/:high"


def test_on_eks_it_watches_the_workloads_the_program_deploys() -> None:
    """On EKS Prometheus and Alertmanager are the cluster operators': no workload of theirs to find,
    so no `missing` alert for them every cycle."""
    names = {s.name for s in checks.watched(load_platform("eks-prod"))}
    assert "prometheus" not in names and "alertmanager" not in names
    assert {"inference-chat", "api-gateway", "qdrant"} <= names
    assert "prometheus" in {s.name for s in checks.watched(load_platform("local"))}
