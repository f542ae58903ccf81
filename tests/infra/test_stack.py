"""A running stack, checked service by service from the service table (see conftest.py)."""

from __future__ import annotations

import json
import socket
from typing import Any

import httpx
import pytest
from tenacity import retry, retry_if_exception_type, stop_after_delay, wait_fixed

from infra.configfile import ConfigFile
from infra.render.containers import container_plan
from infra.render.gateway import CONFIG_PATH
from infra.render.llama import flag_value
from infra.secrets_local import local_secret
from infra.spec.model import Platform, Role, Service
from tests.infra.probes import listening_ports, pid1_argv

pytestmark = pytest.mark.live


def test_container_running_healthy_from_the_planned_image(host: Any, platform: Platform, svc: Service) -> None:
    container = host.docker(svc.name)
    assert container.is_running, f"{svc.name} is not running"
    state = container.inspect()
    assert state["Config"]["Image"] == svc.image
    assert state["State"]["Health"]["Status"] == "healthy", state["State"]["Health"]["Log"][-1:]
    assert state["Config"]["Labels"]["io.inferops.stack"] == platform.stack


def test_main_process_runs_the_planned_command(container_host: Any, platform: Platform, svc: Service) -> None:
    argv = pid1_argv(container_host(svc.name))
    planned = list(container_plan(platform, svc).command)
    assert argv[-len(planned) :] == planned, f"{svc.name} runs {argv}"


def test_llama_server_flags(container_host: Any, llama_svc: Service) -> None:
    container = container_host(llama_svc.name)
    argv = pid1_argv(container)
    llama = llama_svc.llama
    assert llama is not None
    assert container.file("/proc/1/comm").content_string.strip() == "llama-server"
    assert flag_value(argv, "-ngl") == str(llama.n_gpu_layers)
    assert flag_value(argv, "--parallel") == str(llama.parallel)
    assert flag_value(argv, "-b") == str(llama.batch_size)
    assert flag_value(argv, "-c") == str(llama.ctx_size)
    assert flag_value(argv, "-m") == llama.model
    assert ("--metrics" in argv) is llama.metrics
    assert ("--embeddings" in argv) is llama.embeddings
    assert container.file(llama.model).is_file, f"{llama.model} missing in {llama_svc.name}"


def test_port_listening_inside_and_published(container_host: Any, platform: Platform, svc: Service) -> None:
    assert svc.port in listening_ports(container_host(svc.name)), f"nothing listens on :{svc.port} in {svc.name}"
    if svc.publish:
        with socket.create_connection((platform.access_host, svc.published_port), timeout=5):
            pass


def _secrets(platform: Platform, f: ConfigFile) -> dict[str, str]:
    return {key: local_secret(platform.stack, key) for key in f.secret_keys}


def test_config_file_present_with_rendered_content(
    container_host: Any, platform: Platform, config_file: ConfigFile
) -> None:
    target = container_host(config_file.service).file(config_file.path)
    assert target.is_file, f"{config_file.path} missing in {config_file.service}"
    assert target.content_string == config_file.content(_secrets(platform, config_file))


def test_health_endpoint_answers(platform: Platform, svc: Service) -> None:
    if not svc.publish:
        pytest.skip(f"{svc.name} is not published")
    response = httpx.get(platform.url(svc, svc.health.path), timeout=svc.health.timeout_s + 5)
    assert response.status_code == svc.health.expect_status, response.text[:200]


def _gateway(platform: Platform) -> Service:
    (gateway,) = platform.by_role(Role.GATEWAY)
    return gateway


def test_gateway_answers_a_chat_completion(platform: Platform, route: str) -> None:
    gateway = _gateway(platform)
    key = local_secret(platform.stack, "gatewayMasterKey")
    body = {"model": route, "messages": [{"role": "user", "content": "hello"}], "max_tokens": 4}
    response = httpx.post(
        platform.url(gateway, "/v1/chat/completions"),
        json=body,
        headers={"Authorization": f"Bearer {key}"},
        timeout=platform.tuning.LLM_REQUEST_TIMEOUT,
    )
    assert response.status_code == 200, response.text[:300]
    data = response.json()
    assert data["object"] == "chat.completion"
    assert data["choices"][0]["message"]["role"] == "assistant"
    assert isinstance(data["choices"][0]["message"]["content"], str)
    assert 0 < data["usage"]["completion_tokens"] <= 4
    primary = platform.gateway.routes[route][0]
    assert response.headers["x-litellm-model-id"] == f"{route}-{primary}"


def test_gateway_rejects_a_request_without_the_master_key(platform: Platform) -> None:
    gateway = _gateway(platform)
    route = next(iter(platform.gateway.routes))
    body = {"model": route, "messages": [{"role": "user", "content": "hello"}], "max_tokens": 1}
    response = httpx.post(platform.url(gateway, "/v1/chat/completions"), json=body, timeout=30)
    assert response.status_code in (401, 403)


def test_gateway_config_lists_every_route(container_host: Any, platform: Platform) -> None:
    import yaml

    gateway = _gateway(platform)
    loaded = yaml.safe_load(container_host(gateway.name).file(CONFIG_PATH).content_string)
    groups = {m["model_name"] for m in loaded["model_list"]}
    assert groups == set(platform.gateway.routes)


@retry(stop=stop_after_delay(60), wait=wait_fixed(2), retry=retry_if_exception_type(AssertionError), reraise=True)
def _all_targets_up(url: str, expected_jobs: set[str]) -> None:
    targets = httpx.get(url, timeout=10).json()["data"]["activeTargets"]
    jobs = {t["labels"]["job"] for t in targets}
    assert expected_jobs <= jobs, f"missing scrape jobs {sorted(expected_jobs - jobs)}"
    down = {t["labels"]["job"]: t.get("lastError") for t in targets if t["health"] != "up"}
    assert not down, f"targets not up: {down}"


def test_every_prometheus_target_up(platform: Platform) -> None:
    from infra.observability.scrape import scrape_configs

    prometheus = platform.service("prometheus")
    expected = {job["job_name"] for job in scrape_configs(platform)}
    assert expected, "the stack scrapes nothing"
    _all_targets_up(platform.url(prometheus, "/api/v1/targets"), expected)


def test_alertmanager_loaded_the_rendered_config(platform: Platform) -> None:
    import yaml

    alertmanager = platform.service("alertmanager")
    status = httpx.get(platform.url(alertmanager, "/api/v2/status"), timeout=10).json()
    loaded = yaml.safe_load(status["config"]["original"])
    assert {r["name"] for r in loaded["receivers"]} == {r.name for r in platform.alerting.receivers}
    assert loaded["route"]["receiver"] == platform.alerting.default_receiver
    assert status["cluster"]["status"] in ("ready", "disabled", "settling"), json.dumps(status["cluster"])


def test_monitoring_runs_the_pinned_versions(platform: Platform) -> None:
    """The stack's Prometheus and Alertmanager are the versions the rule tests ran on (the pins)."""
    from infra.monitoring.build import go_missing
    from infra.monitoring.tools import ALERTMANAGER, PROMETHEUS, pinned_release

    if platform.stack == "local" and go_missing():
        pytest.skip(f"the local images hold Debian's fallback: {go_missing()}")
    prometheus, alertmanager = platform.service("prometheus"), platform.service("alertmanager")
    build = httpx.get(platform.url(prometheus, "/api/v1/status/buildinfo"), timeout=10).json()["data"]
    status = httpx.get(platform.url(alertmanager, "/api/v2/status"), timeout=10).json()
    running = (build["version"], status["versionInfo"]["version"])
    assert running == (pinned_release(PROMETHEUS), pinned_release(ALERTMANAGER))
