"""The pulumi-docker program under mocks: every container's inputs come from the service table."""

from __future__ import annotations

import pulumi
import pytest
import yaml

from infra.render.gateway import gateway_config
from infra.render.llama import flag_value
from infra.spec import Platform, load_platform
from infra.spec.stackconfig import SECRET_KEYS, platform_from_config, read_stack_config
from infra.targets.docker_program import deploy_compose
from tests.support.pulumi_mocks import Registered, is_secret, run_program, unwrap

SECRET = "test-master-key-value"
CONTAINER = "docker:index/container:Container"


def deploy(platform: Platform) -> dict[str, Registered]:
    return run_program(
        lambda: deploy_compose(platform, {k: pulumi.Output.secret(SECRET) for k in SECRET_KEYS}), stack=platform.stack
    )


def containers(registered: dict[str, Registered]) -> dict[str, Registered]:
    return {n: r for n, r in registered.items() if r.typ == CONTAINER}


@pytest.fixture
def local_resources() -> dict[str, Registered]:
    return deploy(load_platform("local"))


@pytest.fixture
def gpu_resources() -> dict[str, Registered]:
    return deploy(load_platform("gpu-host"))


def test_one_container_per_enabled_service(local_resources, gpu_resources) -> None:
    assert set(containers(local_resources)) == {s.name for s in load_platform("local").enabled()}
    assert set(containers(gpu_resources)) == {s.name for s in load_platform("gpu-host").enabled()}


@pytest.mark.parametrize("stack", ["local", "gpu-host"])
def test_container_inputs_match_the_table(stack: str, local_resources, gpu_resources) -> None:
    platform = load_platform(stack)
    registered = containers(local_resources if stack == "local" else gpu_resources)
    for svc in platform.enabled():
        inputs = registered[svc.name].inputs
        assert inputs["name"] == svc.name
        assert inputs["image"] == svc.image
        assert inputs["restart"] == svc.restart
        assert inputs["wait"] is True, f"{svc.name}: dependents must start after it is healthy"
        assert inputs["waitTimeout"] >= svc.health.start_period_s
        assert inputs["mustRun"] is True
        hc = inputs["healthcheck"]
        probe = " ".join(hc["tests"])
        assert str(svc.health_port) in probe and svc.health.path in probe
        assert hc["retries"] == svc.health.retries
        ports = inputs.get("ports", [])
        published = [{"internal": svc.port, "external": svc.published_port, "ip": platform.bind_address}]
        assert ports == (published if svc.publish else [])
        env = unwrap(inputs["envs"])
        for key, value in svc.env.items():
            assert f"{key}={value}" in env
        labels = {lab["label"]: lab["value"] for lab in inputs["labels"]}
        assert labels["io.inferops.service"] == svc.name
        assert labels["io.inferops.stack"] == stack
        volumes = {v["containerPath"]: v for v in inputs.get("volumes", [])}
        assert set(volumes) == {v.target for v in svc.volumes}


def test_llama_flags_from_the_spec(gpu_resources) -> None:
    platform = load_platform("gpu-host")
    for name in ("inference-chat", "inference-code", "embedding"):
        svc = platform.services[name]
        command = containers(gpu_resources)[name].inputs["command"]
        assert flag_value(command, "-ngl") == str(svc.llama.n_gpu_layers)
        assert flag_value(command, "--parallel") == str(svc.llama.parallel)
        assert flag_value(command, "-b") == str(svc.llama.batch_size)
        assert flag_value(command, "-c") == str(svc.llama.ctx_size)
        assert flag_value(command, "--port") == str(svc.port)
        assert flag_value(command, "-m") == svc.llama.model
        assert "--metrics" in command
    assert "--embeddings" in containers(gpu_resources)["embedding"].inputs["command"]


def test_start_order_by_health(gpu_resources) -> None:
    registered = containers(gpu_resources)
    assert {"inference-chat", "inference-code"} <= set(registered["api-gateway"].depends_on_names)
    assert {"qdrant", "embedding", "api-gateway"} <= set(registered["rag"].depends_on_names)
    assert "prometheus" in registered["grafana"].depends_on_names
    assert not set(registered["inference-chat"].depends_on_names) & set(registered)


def test_gpu_device_requests_only_where_needed(gpu_resources, local_resources) -> None:
    gpu = containers(gpu_resources)
    for name in ("inference-chat", "inference-code", "embedding", "dcgm-exporter"):
        assert gpu[name].inputs["deviceRequests"] == [{"driver": "nvidia", "count": 1, "capabilities": ["gpu"]}]
    assert "deviceRequests" not in gpu["api-gateway"].inputs
    assert all("deviceRequests" not in r.inputs for r in containers(local_resources).values())


def test_gateway_config_uploaded_and_master_key_secret(local_resources) -> None:
    gw = containers(local_resources)["api-gateway"].inputs
    uploads = {u["file"]: u["content"] for u in gw["uploads"]}
    assert yaml.safe_load(uploads["/etc/litellm/config.yaml"]) == gateway_config(load_platform("local"))
    assert is_secret(gw["envs"]), "the environment holding the master key must be a secret input"
    assert f"LITELLM_MASTER_KEY={SECRET}" in unwrap(gw["envs"])
    others = containers(local_resources)["inference-chat"].inputs["envs"]
    assert not is_secret(others)


def test_monitoring_config_uploaded(local_resources) -> None:
    prom = {u["file"]: u["content"] for u in unwrap(containers(local_resources)["prometheus"].inputs["uploads"])}
    scrape = yaml.safe_load(prom["/etc/prometheus/prometheus.yml"])
    jobs = {j["job_name"] for j in scrape["scrape_configs"]}
    assert {"inference-chat", "inference-code", "api-gateway"} <= jobs


def test_remote_host_through_provider(gpu_resources, local_resources) -> None:
    provider = gpu_resources["docker-host"]
    assert provider.typ == "pulumi:providers:docker"
    assert provider.inputs["host"] == "ssh://ops@gpu-1"
    assert "docker-host" in (gpu_resources["inference-chat"].provider or "")
    assert "docker-host" not in local_resources


def test_ports_published_on_loopback_by_default(local_resources) -> None:
    for reg in containers(local_resources).values():
        assert all(p["ip"] == "127.0.0.1" for p in reg.inputs.get("ports", []))


def test_one_knob_changes_only_its_service() -> None:
    raw = read_stack_config("gpu-host")
    before = containers(deploy(platform_from_config("gpu-host", raw, "test")))
    changed = {**raw, "tuning": {**raw["tuning"], "CHAT_N_GPU_LAYERS": 500}}
    after = containers(deploy(platform_from_config("gpu-host", changed, "test")))
    differing = {n for n in before if before[n].inputs != after[n].inputs}
    assert differing == {"inference-chat"}
    assert flag_value(after["inference-chat"].inputs["command"], "-ngl") == "500"
