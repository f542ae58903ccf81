"""alertmanager.yml: `amtool check-config`, routes per severity, mute windows and secrets."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from infra.configfile import to_yaml
from infra.observability.alertmanager import alertmanager_config, redacted
from infra.observability.files import alertmanager_file
from infra.spec import Platform, load_platform
from infra.spec.stackconfig import available_stacks, platform_from_config, read_stack_config
from tests.support.monitoring_tools import run

SECRETS = {
    "alertSlackWebhookUrl": "https://hooks.slack.test/services/T000/B000/s3cr3t-slack",
    "alertPagerdutyRoutingKey": "pd-routing-key-s3cr3t",
    "alertWebhookUrl": "https://hooks.example.test/s3cr3t-webhook",
    "alertSynologyWebhookUrl": "https://nas.example.test/webapi/entry.cgi?token=s3cr3t",
}


def write(platform: Platform, out: Path, secrets: dict[str, str] | None = None) -> Path:
    path = out / "alertmanager.yml"
    path.write_text(alertmanager_file(platform).content(secrets or redacted(platform.alerting.secret_keys)))
    return path


def routes_test(amtool: str, config: Path, *labels: str) -> str:
    done = run(amtool, "config", "routes", "test", f"--config.file={config}", *labels)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.parametrize("stack", available_stacks())
def test_amtool_check_config(stack: str, amtool: str, tmp_path: Path) -> None:
    done = run(amtool, "check-config", write(load_platform(stack), tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def test_amtool_rejects_a_broken_config(amtool: str, tmp_path: Path) -> None:
    """The check can fail: a route to an undefined receiver is refused."""
    config = alertmanager_config(
        load_platform("gpu-host"), redacted(("alertSlackWebhookUrl", "alertPagerdutyRoutingKey"))
    )
    config["route"]["routes"][0]["receiver"] = "nobody"
    (tmp_path / "bad.yml").write_text(to_yaml(config))
    done = run(amtool, "check-config", tmp_path / "bad.yml")
    assert done.returncode != 0


@pytest.mark.parametrize(
    ("severity", "receivers"),
    [("critical", "pager,chat"), ("warning", "chat"), ("info", "chat")],
)
def test_seed_routes_per_severity(
    severity: str, receivers: str, gpu_host: Platform, amtool: str, tmp_path: Path
) -> None:
    """Seed 003: critical pages and goes to chat (`continue`), warning and info go to chat."""
    config = write(gpu_host, tmp_path)
    assert routes_test(amtool, config, f"severity={severity}", "alertname=Any") == receivers
    assert routes_test(amtool, config, f"severity={severity}", "role=inference", "service=inference-chat") == receivers


def test_routes_follow_stack_config(amtool: str, tmp_path: Path) -> None:
    raw = read_stack_config("gpu-host")
    raw["alerting"] = {
        "receivers": [
            {"name": "ops", "kind": "webhook"},
            {"name": "nas", "kind": "synology", "service": "synology-relay", "path": "/alerts"},
        ],
        "default_receiver": "ops",
        "routes": {"critical": ["nas", "ops"], "warning": ["nas"]},
    }
    raw["services"] = {**raw.get("services", {}), "synology-relay": {"enabled": True}}
    platform = platform_from_config("gpu-host", raw, source="test")
    config = write(platform, tmp_path)
    assert routes_test(amtool, config, "severity=critical") == "nas,ops"
    assert routes_test(amtool, config, "severity=warning") == "nas"
    assert routes_test(amtool, config, "severity=info") == "ops"
    nas = next(
        r for r in alertmanager_config(platform, redacted(("alertWebhookUrl",)))["receivers"] if r["name"] == "nas"
    )
    assert nas["webhook_configs"][0]["url"] == "http://synology-relay:9097/alerts"


def test_group_timings_are_the_seeds(gpu_host: Platform) -> None:
    route = alertmanager_config(gpu_host, redacted(gpu_host.alerting.secret_keys))["route"]
    assert route["group_by"] == ["alertname", "severity"]
    assert (route["group_wait"], route["group_interval"], route["repeat_interval"]) == ("30s", "5m", "4h")


def test_nightly_mute_window_covers_inference_on_every_route(gpu_host: Platform) -> None:
    """Seed 000: inference alerts are muted KST 0-7 h on every path an alert can take."""
    config = alertmanager_config(gpu_host, redacted(gpu_host.alerting.secret_keys))
    assert config["time_intervals"] == [
        {
            "name": "nightly-batch",
            "time_intervals": [{"times": [{"start_time": "00:00", "end_time": "07:00"}], "location": "Asia/Seoul"}],
        }
    ]
    receiver_routes = [r for r in config["route"]["routes"] if "routes" in r]
    assert receiver_routes, "no receiver route"
    for route in receiver_routes:
        assert route["routes"] == [
            {"receiver": route["receiver"], "matchers": ['role="inference"'], "mute_time_intervals": ["nightly-batch"]}
        ]
    # and alerts that reach the default receiver directly
    assert config["route"]["routes"][-1]["mute_time_intervals"] == ["nightly-batch"]


def test_inhibitions(gpu_host: Platform) -> None:
    rules = alertmanager_config(gpu_host, redacted(gpu_host.alerting.secret_keys))["inhibit_rules"]
    by_source = {r["source_matchers"][0]: r for r in rules}
    assert by_source['alertname="HostDown"']["equal"] == ["host"]
    critical = by_source['severity="critical"']
    assert critical["target_matchers"] == ['severity="warning"']
    assert "alertname" in critical["equal"]


def test_secrets_only_where_rendered_with_values(gpu_host: Platform) -> None:
    """The file is secret, filled only from the secrets given; redacted renders leak nothing."""
    am = alertmanager_file(gpu_host)
    assert am.is_secret
    assert set(am.secret_keys) == {"alertSlackWebhookUrl", "alertPagerdutyRoutingKey"}
    with_values = am.content(SECRETS)
    assert SECRETS["alertSlackWebhookUrl"] in with_values
    assert SECRETS["alertPagerdutyRoutingKey"] in with_values
    shown = am.content(redacted(am.secret_keys))
    assert not any(value in shown for value in SECRETS.values())
    assert "https://redacted.invalid/alertSlackWebhookUrl" in shown


def test_missing_secret_names_the_key_and_the_fix(gpu_host: Platform) -> None:
    with pytest.raises(KeyError, match=r"pulumi config set --secret inferops:alertPagerdutyRoutingKey"):
        alertmanager_file(gpu_host).content({"alertSlackWebhookUrl": "https://x.test/"})


def test_in_stack_webhook_address_comes_from_the_table(tmp_path: Path) -> None:
    raw = read_stack_config("local")
    raw["alerting"] = {
        "receivers": [{"name": "sink", "kind": "webhook", "service": "api-gateway", "path": "/hook"}],
        "default_receiver": "sink",
        "routes": {"critical": ["sink"]},
    }
    platform = platform_from_config("local", raw, source="test")
    am = alertmanager_file(platform)
    assert not am.is_secret
    config = yaml.safe_load(am.content())
    assert config["receivers"] == [
        {"name": "sink", "webhook_configs": [{"url": "http://api-gateway:8000/hook", "send_resolved": True}]}
    ]
