"""runbook.daily-check's pieces that need no engine: verdict rules, log scanning, rule queries, config."""

from __future__ import annotations

import pytest

from infra.observability.rules import GROUPS
from infra.spec import Platform, platform_from_config
from infra.spec.daily_check import DailyCheck
from infra.spec.errors import ConfigError
from runbooks.daily import gpu, services
from runbooks.daily.findings import Finding, by_level, worst
from runbooks.daily.prom import condition, prometheus_url
from runbooks.daily_check import runbook as daily_check
from runbooks.framework import BadInput, Options
from runbooks.health.runbook import ServiceHealth
from runbooks.targets.base import ServiceState

# nvidia-smi --query-gpu=index,memory.used,memory.free,memory.total,temperature.gpu,utilization.gpu --format=csv
# as the driver prints it (units in the header and the cells).
SMI_CSV = """index, memory.used [MiB], memory.free [MiB], memory.total [MiB], temperature.gpu, utilization.gpu [%]
0, 23000 MiB, 1564 MiB, 24564 MiB, 84, 97 %
1, 1000 MiB, 23564 MiB, 24564 MiB, 41, 3 %
"""


def test_worst_and_levels() -> None:
    f = lambda v: Finding("c", "s", v, "")  # noqa: E731
    assert worst([]) == "ok"
    assert worst([f("ok"), f("n/a")]) == "ok"
    assert worst([f("ok"), f("warn"), f("n/a")]) == "warn"
    assert worst([f("warn"), f("fail"), f("ok")]) == "fail"
    # the alerts' strict ">": exactly at the threshold is still ok
    assert by_level(85.0, 85, 95) == "ok"
    assert by_level(85.1, 85, 95) == "warn"
    assert by_level(95.1, 85, 95) == "fail"
    assert by_level(1e9, None, None) == "ok"


@pytest.mark.parametrize(
    ("state", "verdict", "words"),
    [
        (ServiceState("inference-chat", "running", "healthy"), "ok", "running, healthy"),
        (ServiceState("inference-chat", "running", "none"), "ok", "no healthcheck"),
        (ServiceState("inference-chat", "running", "starting"), "warn", "starting"),
        (ServiceState("inference-chat", "running", "healthy", restart_count=2), "warn", "restarted 2 times"),
        (ServiceState("inference-chat", "running", "unhealthy"), "fail", "unhealthy"),
        (ServiceState("inference-chat", "exited", exit_code=137, oom_killed=True), "fail", "exited (137), OOM-killed"),
        (ServiceState("inference-chat", "missing"), "fail", "no container"),
        (ServiceState("inference-chat", "paused"), "fail", "paused"),
    ],
)
def test_container_verdicts(platform: Platform, state: ServiceState, verdict: str, words: str) -> None:
    f = services.container_finding(platform.service("inference-chat"), state)
    assert (f.verdict, f.check, f.subject) == (verdict, "containers", "inference-chat")
    assert words in f.detail


def test_monitoring_down_only_warns(platform: Platform) -> None:
    f = services.container_finding(
        platform.service("alertmanager"), ServiceState("alertmanager", "exited", exit_code=1)
    )
    assert f.verdict == "warn"
    row = ServiceHealth("alertmanager", "monitoring", False, "http://x/-/ready", state="down", error="refused")
    assert services.health_finding(platform.service("alertmanager"), row).verdict == "warn"
    row = ServiceHealth("inference-chat", "inference", True, "http://x/health", state="down", error="refused")
    assert services.health_finding(platform.service("inference-chat"), row).verdict == "fail"


def test_health_views_that_disagree_warn(platform: Platform) -> None:
    svc = platform.service("inference-code")
    up = ServiceHealth("inference-code", "inference", True, "u", state="up", latency_ms=3.0, gateway="healthy")
    assert services.health_finding(svc, up).verdict == "ok"
    sick = ServiceHealth("inference-code", "inference", True, "u", state="up", gateway="unhealthy (1/1)")
    f = services.health_finding(svc, sick)
    assert f.verdict == "warn" and "gateway says unhealthy (1/1)" in f.detail
    loading = ServiceHealth("inference-code", "inference", True, "u", state="loading", error="503: model still loading")
    assert services.health_finding(svc, loading).verdict == "warn"


def test_scan_log_counts_like_grep_i_and_groups_repeats() -> None:
    text = "\n".join(
        [
            "2026-11-25T10:00:01.123Z ERROR: CUDA error: out of memory at 0x7f3a",
            "2026-11-25T10:00:02.456Z error: CUDA error: out of memory at 0x7f3b",
            "srv  log_server_r: request: GET /health 127.0.0.1 200",
            "ggml_cuda_init: found 1 CUDA devices",
            "litellm.exceptions.APIConnectionError: Connection error. (attempt 3)",
        ]
    )
    scan = services.scan_log(text, "error", top=5)
    assert (scan.lines, scan.matches) == (5, 3)
    # the two CUDA lines differ only in timestamp and address: one group of 2, shown first
    assert scan.top[0][0] == 2 and "out of memory" in scan.top[0][1]
    assert scan.top[1] == (1, "litellm.exceptions.APIConnectionError: Connection error. (attempt 3)")
    assert services.scan_log(text, "error", top=1).top == scan.top[:1]
    assert services.scan_log(text, "fatal|panic", top=5).matches == 0


def test_every_daily_check_alert_splits_into_query_and_threshold() -> None:
    mine = [r for g in GROUPS for r in g.rules if r.runbook == "daily-check"]
    assert {r.alert for r in mine} >= {"GPUTemperatureHigh", "GPUUnderutilized", "DiskSpaceLow", "DailyCostExceeded"}
    for r in mine:
        c = condition(r.alert, r.severity)
        assert c.query and c.query in r.expr and c.op in (">", "<")
        assert r.expr.strip().endswith(f"{c.op} {r.expr.split(c.op)[-1].strip()}")
    assert condition("GPUTemperatureHigh").query == "DCGM_FI_DEV_GPU_TEMP"
    with pytest.raises(KeyError, match="known:"):
        condition("NoSuchAlert")


def test_config_defaults_are_the_alerts_thresholds(platform: Platform) -> None:
    """The checklist and the alerts agree until a stack changes a threshold on purpose."""
    cfg = DailyCheck()
    assert cfg.disk_warn_pct == 100 * condition("DiskSpaceLow", "warning").threshold
    assert cfg.disk_fail_pct == 100 * condition("DiskSpaceLow", "critical").threshold
    assert cfg.gpu_memory_fail_pct == 100 * condition("GPUMemoryHigh", "critical").threshold
    assert platform.gpu_layers.memory_high_ratio == condition("GPUMemoryHigh", "warning").threshold
    assert cfg.gpu_temp_warn_c == condition("GPUTemperatureHigh").threshold
    assert cfg.gpu_util_low_pct == condition("GPUUnderutilized").threshold
    assert cfg.error_rate_fail_pct == 100 * condition("InferenceErrorRateHigh").threshold
    assert cfg.p99_latency_warn_s == condition("InferenceLatencyHigh").threshold
    assert cfg.daily_cost_warn_usd == condition("DailyCostExceeded").threshold
    assert cfg.gpu_cost_spike_warn_usd == condition("GPUCostSpike").threshold


@pytest.mark.parametrize(
    ("section", "key"),
    [
        ({"disk_warn_pct": 96}, "inferops:dailyCheck"),
        ({"log_pattern": "(unclosed"}, "inferops:dailyCheck.log_pattern"),
        ({"disk_fail_pct": 120}, "inferops:dailyCheck.disk_fail_pct"),
        ({"prometheus_url": "prometheus:9090"}, "inferops:dailyCheck.prometheus_url"),
        ({"log_window_h": 0}, "inferops:dailyCheck.log_window_h"),
    ],
)
def test_bad_config_names_the_key(section: dict, key: str) -> None:
    with pytest.raises(ConfigError) as err:
        platform_from_config("x", {"dailyCheck": section}, source="stacks/Pulumi.x.yaml")
    assert f"{key} = " in str(err.value) or f"{key}: " in str(err.value) or key in str(err.value)


def test_prometheus_url_precedence(platform: Platform) -> None:
    assert prometheus_url(platform) == platform.url(platform.service("prometheus"))
    custom = platform.model_copy(update={"daily_check": DailyCheck(prometheus_url="https://prom.example.org/")})
    assert prometheus_url(custom) == "https://prom.example.org"
    assert prometheus_url(custom, "http://127.0.0.1:1/") == "http://127.0.0.1:1"
    services_ = {
        n: s.model_copy(update={"enabled": False}) if n == "prometheus" else s for n, s in platform.services.items()
    }
    assert prometheus_url(platform.model_copy(update={"services": services_})) is None


def test_nvidia_smi_csv_gives_memory_temperature_and_use(platform: Platform) -> None:
    found = {(f.check, f.subject): f for f in gpu.from_nvidia_smi(platform, SMI_CSV)}
    mem0 = found[("gpu-memory", "0")]
    assert mem0.verdict == "warn"  # 23000 / 24564 = 93.6 %: above 90, below 97
    assert mem0.data["used_pct"] == pytest.approx(100 * 23000 / 24564, abs=0.01)
    assert found[("gpu-memory", "1")].verdict == "ok"
    assert found[("gpu-temperature", "0")].verdict == "warn" and "84 °C" in found[("gpu-temperature", "0")].detail
    assert found[("gpu-temperature", "1")].verdict == "ok"
    assert found[("gpu-utilisation", "1")].verdict == "warn"  # 3 % < 20 %
    assert found[("gpu-utilisation", "0")].verdict == "ok"


def test_nvidia_smi_command_is_local_or_over_ssh(platform: Platform, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    assert gpu.nvidia_smi_command(platform) is None
    remote = platform.model_copy(update={"docker_host": "ssh://ops@gpu-1:2222"})
    cmd = gpu.nvidia_smi_command(remote)
    assert cmd[:1] == ["ssh"] and "ops@gpu-1" in cmd and cmd[cmd.index("-p") + 1] == "2222"
    assert cmd[cmd.index("ops@gpu-1") + 1 :] == ["nvidia-smi", *gpu.SMI_QUERY]


def test_no_gpu_is_said_plainly(platform: Platform, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    (f,) = gpu.gpu(platform, prom=None)
    assert f.verdict == "n/a" and f.detail.startswith("no GPU on this host")
    declared = platform.model_copy(update={"gpu_host": True})
    (f,) = gpu.gpu(declared, prom=None)
    assert f.verdict == "warn" and "gpuHost: true" in f.detail


@pytest.mark.parametrize(
    ("extra", "option"),
    [
        ({"since_h": "-1"}, "--since-h"),
        ({"since_h": "a day"}, "--since-h"),
        ({"prometheus_url": "x:9090"}, "--prometheus-url"),
    ],
)
def test_bad_options_name_the_option(platform: Platform, extra: dict, option: str) -> None:
    with pytest.raises(BadInput, match=option):
        daily_check.build(platform, Options(extra=extra))


def test_the_runbook_only_reads(platform: Platform) -> None:
    rb = daily_check.build(platform, Options(extra={"since_h": "12"}))
    assert all(s.probe and not s.destructive for s in rb.steps)
    assert not rb.exclusive and not rb.destructive_steps
    assert "12 h" in next(s.summary for s in rb.steps if s.name == "error-logs")
