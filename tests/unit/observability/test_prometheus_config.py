"""prometheus.yml from the service table: `promtool check config`, targets, labels, gateway auth."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from infra.observability.files import observability_files
from infra.observability.scrape import GATEWAY_KEY_FILE, prometheus_config, scraped_services
from infra.spec import Platform, load_platform
from infra.spec.model import Role
from infra.spec.stackconfig import available_stacks
from tests.support.monitoring_tools import export, run


@pytest.mark.parametrize("stack", available_stacks())
def test_promtool_check_config(stack: str, promtool: str, tmp_path: Path) -> None:
    """The exported config and rules, with the secret key file pointed at a local stand-in."""
    out = export(load_platform(stack), tmp_path)
    key = tmp_path / "gateway-key"
    key.write_text("not-the-real-key\n")
    config = yaml.safe_load((out / "prometheus.yml").read_text())
    config["rule_files"] = [str(out / "rules" / "*.yml")]
    for job in config["scrape_configs"]:
        if "authorization" in job:
            assert job["authorization"]["credentials_file"] == GATEWAY_KEY_FILE
            job["authorization"]["credentials_file"] = str(key)
    (out / "prometheus.yml").write_text(yaml.safe_dump(config))
    done = run(promtool, "check", "config", out / "prometheus.yml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


@pytest.mark.parametrize("stack", ["gpu-host", "local"])
def test_one_job_per_scraped_service(stack: str) -> None:
    platform = load_platform(stack)
    jobs = {j["job_name"]: j for j in prometheus_config(platform, [])["scrape_configs"]}
    expected = [s for s in platform.enabled() if s.metrics_path]
    assert sorted(jobs) == sorted(s.name for s in expected)
    for svc in expected:
        job = jobs[svc.name]
        assert job["metrics_path"] == svc.metrics_path
        (static,) = job["static_configs"]
        assert static["targets"] == [f"{svc.name}:{svc.port}"]
        assert static["labels"]["service"] == svc.name
        assert static["labels"]["role"] == svc.role.value
        assert ("authorization" in job) == (svc.role is Role.GATEWAY)


def test_exporters_of_the_issue_are_scraped_on_a_gpu_host(gpu_host: Platform) -> None:
    names = {s.name for s in scraped_services(gpu_host)}
    assert {"inference-chat", "inference-code", "api-gateway", "node-exporter", "dcgm-exporter", "qdrant"} <= names
    assert {"prometheus", "alertmanager"} <= names


def test_host_label_from_the_docker_host(gpu_host: Platform, local: Platform) -> None:
    def hosts(p: Platform) -> set[str]:
        return {j["static_configs"][0]["labels"]["host"] for j in prometheus_config(p, [])["scrape_configs"]}

    assert hosts(gpu_host) == {"gpu-1"}
    assert hosts(local) == {"localhost"}


def test_stack_timings_reach_prometheus(local: Platform, gpu_host: Platform) -> None:
    assert prometheus_config(local, [])["global"]["scrape_interval"] == local.alerting.scrape_interval
    assert prometheus_config(gpu_host, [])["global"]["evaluation_interval"] == "15s"


def test_gateway_key_is_a_secret_file(gpu_host: Platform) -> None:
    (key,) = [f for f in observability_files(gpu_host) if f.path == GATEWAY_KEY_FILE]
    assert key.secret_keys == ("gatewayMasterKey",)
    assert key.content({"gatewayMasterKey": "sk-123"}) == "sk-123"
    config = next(f for f in observability_files(gpu_host) if f.path.endswith("prometheus.yml"))
    assert not config.is_secret
    assert "sk-123" not in config.content()
