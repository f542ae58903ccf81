"""The cAdvisor and Synology-relay rows of the service table: where they run, how they are
scraped, how the relay gets its secret, and the config errors that pair relay and receiver."""

from __future__ import annotations

from typing import Any

import pytest

from infra.observability.scrape import prometheus_config
from infra.render.containers import container_plan
from infra.spec import ConfigError, Platform, load_platform, platform_from_config
from infra.spec.stackconfig import read_stack_config
from infra.targets.k8s.workloads import eks_services

SYNOLOGY = {"name": "nas", "kind": "synology", "service": "synology-relay"}


def _gpu_host(alerting: dict[str, Any] | None = None, **services: dict[str, Any]) -> Platform:
    raw = read_stack_config("gpu-host")
    if alerting is not None:
        raw["alerting"] = alerting
    raw["services"] = {**raw.get("services", {}), **services}
    return platform_from_config("gpu-host", raw, source="test")


def _jobs(platform: Platform) -> dict[str, dict[str, Any]]:
    return {job["job_name"]: job for job in prometheus_config(platform, [])["scrape_configs"]}


def test_cadvisor_runs_and_is_scraped_on_the_gpu_host_only() -> None:
    gpu_host = load_platform("gpu-host")
    job = _jobs(gpu_host)["cadvisor"]
    assert job["static_configs"][0]["targets"] == ["cadvisor:8080"]
    assert job["metrics_path"] == "/metrics"
    assert job["static_configs"][0]["labels"]["host"] == "gpu-1"
    assert "cadvisor" not in _jobs(load_platform("local")), "no cAdvisor image can be built or pulled here"


def test_cadvisor_mounts_the_host_read_only() -> None:
    plan = container_plan(load_platform("gpu-host"), load_platform("gpu-host").service("cadvisor"))
    mounts = {(v.source, v.target) for v in plan.volumes}
    assert mounts == {
        ("/", "/rootfs"),
        ("/var/run", "/var/run"),
        ("/sys", "/sys"),
        ("/var/lib/docker", "/var/lib/docker"),
    }
    assert all(v.read_only and v.host_path for v in plan.volumes)
    assert "/healthz" in " ".join(plan.healthcheck.test)
    assert plan.ports == (), "scraped on the stack network only: no host port to collide with"


def test_eks_deploys_neither_cadvisor_nor_the_relay() -> None:
    names = {s.name for s in eks_services(load_platform("eks-prod"))}
    assert "cadvisor" not in names and "synology-relay" not in names
    assert "api-gateway" in names


def test_relay_gets_its_url_from_the_secret_as_an_env_var() -> None:
    platform = _gpu_host(
        {"receivers": [SYNOLOGY], "default_receiver": "nas", "routes": {}}, **{"synology-relay": {"enabled": True}}
    )
    plan = container_plan(platform, platform.service("synology-relay"))
    assert plan.secret_env == {"SYNOLOGY_WEBHOOK_URL": "alertSynologyWebhookUrl"}
    assert "alertSynologyWebhookUrl" not in str(plan.env) and not plan.ports, "the relay is not published"
    gateway = container_plan(platform, platform.service("api-gateway"))
    assert gateway.secret_env == {"LITELLM_MASTER_KEY": "gatewayMasterKey"}, "the gateway uses the same mechanism"


def test_synology_receiver_with_the_relay_disabled_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as err:
        _gpu_host({"receivers": [SYNOLOGY], "default_receiver": "nas", "routes": {}})
    assert err.value.keys == ["inferops:services.synology-relay.enabled"]
    assert "enabled: true" in str(err.value)


def test_relay_without_a_synology_receiver_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as err:
        _gpu_host(**{"synology-relay": {"enabled": True}})
    assert err.value.keys == ["inferops:services.synology-relay.enabled"]
    assert "no synology receiver" in str(err.value)


def test_synology_receiver_must_post_to_the_relay() -> None:
    bad = {**SYNOLOGY, "service": "alert-sink"}
    with pytest.raises(ConfigError) as err:
        _gpu_host({"receivers": [bad], "default_receiver": "nas", "routes": {}})
    assert err.value.keys == ["inferops:alerting.receivers.0.service"]
    assert "synology-relay" in str(err.value)


def test_webhook_receiver_to_a_disabled_service_is_a_config_error() -> None:
    sink = {"name": "sink", "kind": "webhook", "service": "alert-sink"}
    with pytest.raises(ConfigError) as err:
        _gpu_host({"receivers": [sink], "default_receiver": "sink", "routes": {}})
    assert err.value.keys == ["inferops:services.alert-sink.enabled"]
