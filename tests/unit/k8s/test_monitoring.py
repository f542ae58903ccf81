"""ServiceMonitors, PrometheusRule, AlertmanagerConfig and dashboards: the compose stack's rules,
routes and dashboards, as prometheus-operator objects."""

from __future__ import annotations

import json

import pytest

from infra.observability.dashboards import dashboards
from infra.observability.rules import GROUPS, group_dict
from infra.targets.k8s.monitoring import _utc_window, matcher, observability_data, receiver_secret_keys
from tests.unit.k8s.conftest import TEST_SECRETS, Objects

SIG_KEY = "4dabf18193072939515e22adb298388d"


def test_service_monitor_for_every_service_with_metrics(objects: Objects, platform) -> None:
    monitors = {o["metadata"]["name"]: o for o in objects.values() if o["kind"] == "ServiceMonitor"}
    services = {o["metadata"]["name"]: o for o in objects.values() if o["kind"] == "Service"}
    expected = {name for name in services if not name.endswith("-headless") and platform.service(name).metrics_path}
    assert set(monitors) == expected and "inference-chat" in expected
    for name, mon in monitors.items():
        svc = platform.service(name)
        assert mon["metadata"]["labels"].items() >= platform.eks.monitor_labels.items()
        assert mon["spec"]["selector"]["matchLabels"].items() <= services[name]["metadata"]["labels"].items()
        (ep,) = mon["spec"]["endpoints"]
        assert ep["path"] == svc.metrics_path and ep["port"] == services[name]["spec"]["ports"][0]["name"]
        targets = {r["targetLabel"]: r for r in ep["relabelings"]}
        assert targets["service"]["replacement"] == name and targets["role"]["replacement"] == svc.role.value
    auth = monitors["api-gateway"]["spec"]["endpoints"][0]["authorization"]
    assert auth == {"type": "Bearer", "credentials": {"name": "api-gateway-secrets", "key": "gatewayMasterKey"}}


def test_prometheus_rule_has_the_shared_groups(objects: Objects, platform) -> None:
    rule = objects[f"PrometheusRule/{platform.eks.namespaces.monitoring}/inferops-alerts"]
    assert rule["spec"]["groups"] == [group_dict(platform, g) for g in GROUPS]
    names = {r["alert"] for g in rule["spec"]["groups"] for r in g["rules"]}
    assert {"GPUMemoryHigh", "GPUTemperatureHigh"} <= names  # seed 003's alerts


def test_alertmanager_config_routes_and_secret_receivers(program, platform) -> None:
    objects, records = program
    ns = platform.eks.namespaces.monitoring
    am = objects[f"AlertmanagerConfig/{ns}/inferops"]["spec"]
    native = observability_data(platform).alertmanager
    assert am["route"]["receiver"] == native["route"]["receiver"]
    assert am["route"]["groupBy"] == native["route"]["group_by"]
    assert [r["receiver"] for r in am["route"]["routes"]] == [r["receiver"] for r in native["route"]["routes"]]
    assert [r["name"] for r in am["receivers"]] == [r["name"] for r in native["receivers"]]
    keys = receiver_secret_keys(native)
    (secret,) = [i for t, _n, i in records if t == "kubernetes:core/v1:Secret" and i["metadata"]["namespace"] == ns]
    assert SIG_KEY in secret["stringData"]
    assert secret["stringData"]["value"] == {k: TEST_SECRETS[k] for k in keys}
    refs = [
        v for r in am["receivers"] for k, confs in r.items() if k.endswith("Configs") for c in confs
        for v in c.values() if isinstance(v, dict) and "key" in v
    ]  # fmt: skip
    assert sorted(r["key"] for r in refs) == sorted(keys) and all(r["name"] == "alertmanager-receivers" for r in refs)
    assert not any(v in json.dumps(am) for v in TEST_SECRETS.values())  # no secret inline


def test_dashboards_as_sidecar_config_maps(objects: Objects, platform) -> None:
    maps = [o for o in objects.values() if o["kind"] == "ConfigMap" and o["metadata"]["name"].startswith("dashboard-")]
    boards = dashboards(platform)
    assert len(maps) == len(boards) >= 1
    for cm in maps:
        assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
        assert cm["metadata"]["namespace"] == platform.eks.namespaces.monitoring
        ((file, text),) = cm["data"].items()
        assert json.loads(text) == boards[file.removesuffix(".json")]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('severity=~"critical|warning"', {"name": "severity", "matchType": "=~", "value": "critical|warning"}),
        ('alertname!="HostDown"', {"name": "alertname", "matchType": "!=", "value": "HostDown"}),
        ("role=inference", {"name": "role", "matchType": "=", "value": "inference"}),
    ],
)
def test_matcher_conversion(text: str, expected: dict) -> None:
    assert matcher(text) == expected


def test_maintenance_window_shifted_to_utc() -> None:
    # Seoul is UTC+9 all year: 00:00-07:00 local is 15:00-22:00 UTC on the previous day.
    window = {"times": [{"start_time": "00:00", "end_time": "07:00"}], "weekdays": ["monday"], "location": "Asia/Seoul"}
    assert _utc_window(window) == [{"times": [{"startTime": "15:00", "endTime": "22:00"}], "weekdays": ["sunday"]}]
    split = {"times": [{"start_time": "08:00", "end_time": "10:00"}], "location": "Asia/Seoul"}
    assert _utc_window(split) == [
        {"times": [{"startTime": "23:00", "endTime": "24:00"}]},
        {"times": [{"startTime": "00:00", "endTime": "01:00"}]},
    ]
    with pytest.raises(ValueError, match="DST"):
        _utc_window({"times": [{"start_time": "01:00", "end_time": "02:00"}], "location": "Europe/Berlin"})
