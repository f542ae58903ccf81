"""runbook.daily-check's GPU, disk, SLO, cost and EKS checks against real HTTP servers on localhost:
a Prometheus API double answering the alert rules' own queries, a double of the Kubernetes API
read through the real kubernetes client, and a stand-in `nvidia-smi` run as a real process.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest

from infra.spec import Platform, platform_from_config
from runbooks.daily import disk, gpu, kube, metrics
from runbooks.daily.prom import Prometheus, condition
from runbooks.gpu.memory import DCGM_FREE, DCGM_QUERY, DCGM_USED
from runbooks.targets import target_for
from runbooks.targets.k8s_target import KubernetesTarget
from tests.doubles.prometheus_double import PrometheusDouble, serving
from tests.unit.runbooks.conftest import TEST_STACK
from tests.unit.runbooks.fakes import FakeServer
from tests.unit.runbooks.fakes import serving as serving_http

GPU0 = {"gpu": "0", "Hostname": "gpu-1", "modelName": "NVIDIA L4"}


@pytest.fixture
def no_smi(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # no nvidia-smi on this machine's PATH
    monkeypatch.delenv("DOCKER_HOST", raising=False)


def _gpu_platform(platform: Platform) -> Platform:
    services = {
        n: s.model_copy(update={"enabled": True}) if n == "dcgm-exporter" else s for n, s in platform.services.items()
    }
    return platform.model_copy(update={"gpu_host": True, "services": services})


def _eks() -> Platform:
    raw = {**TEST_STACK, "target": "eks", "eks": {"context": "arn:aws:eks:us-west-2:1:cluster/x"}}
    return platform_from_config("unit-eks", raw, source="tests")


def _dcgm(prom: PrometheusDouble, used: float, free: float, temp: float, util: float) -> None:
    prom.answer(DCGM_QUERY, ({"__name__": DCGM_USED, **GPU0}, used), ({"__name__": DCGM_FREE, **GPU0}, free))
    prom.answer(condition("GPUTemperatureHigh").query, (GPU0, temp))
    prom.answer(condition("GPUUnderutilized").query, (GPU0, util))


def test_dcgm_when_the_host_has_no_nvidia_smi(platform: Platform, no_smi: None) -> None:
    double = PrometheusDouble()
    _dcgm(double, used=24000, free=500, temp=86, util=12)
    with serving(double):
        found = gpu.gpu(_gpu_platform(platform), Prometheus(double.url))
    by = {f.check: f for f in found}
    assert by["gpu-memory"].subject == "gpu-1/gpu0"
    assert by["gpu-memory"].verdict == "fail"  # 24000 / 24500 = 98 % > 97 % (GPUMemoryHigh critical)
    assert by["gpu-temperature"].verdict == "warn" and "86 °C (DCGM)" in by["gpu-temperature"].detail
    assert by["gpu-utilisation"].verdict == "warn" and "1 h average" in by["gpu-utilisation"].detail
    assert DCGM_QUERY in double.asked


def test_dcgm_healthy_gpu_is_ok(platform: Platform, no_smi: None) -> None:
    double = PrometheusDouble()
    _dcgm(double, used=12000, free=12500, temp=61, util=55)
    with serving(double):
        found = gpu.gpu(_gpu_platform(platform), Prometheus(double.url))
    assert [(f.check, f.verdict) for f in found] == [
        ("gpu-memory", "ok"),
        ("gpu-temperature", "ok"),
        ("gpu-utilisation", "ok"),
    ]


def _fake_smi(tmp_path: Path, body: str, code: int = 0) -> Path:
    """A stand-in `nvidia-smi` (shell script) that records its arguments and prints `body`."""
    script = tmp_path / "nvidia-smi"
    args = tmp_path / "args"
    script.write_text(f"#!/bin/sh\necho \"$@\" > {args}\ncat <<'EOF'\n{body}\nEOF\nexit {code}\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return args


def test_nvidia_smi_on_the_host_is_run_with_the_memory_query(
    platform: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.unit.runbooks.test_daily_check_parts import SMI_CSV

    args = _fake_smi(tmp_path, SMI_CSV.strip())
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}/usr/bin:/bin")
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    found = gpu.gpu(platform, prom=None)
    assert args.read_text().split() == list(gpu.SMI_QUERY)
    assert {(f.check, f.subject, f.verdict) for f in found} >= {("gpu-memory", "0", "warn"), ("gpu-memory", "1", "ok")}


def test_nvidia_smi_failing_falls_back_and_says_why(
    platform: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_smi(tmp_path, "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.", code=9)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}/usr/bin:/bin")
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    (f,) = gpu.gpu(platform, prom=None)
    assert f.verdict == "n/a" and "exited 9" in f.detail and "no GPU on this host" in f.detail
    double = PrometheusDouble()
    _dcgm(double, used=1000, free=23000, temp=40, util=50)
    with serving(double):
        found = gpu.gpu(_gpu_platform(platform), Prometheus(double.url))
    assert found[0].check == "gpu-memory" and found[0].data["source"] == "DCGM"


def test_slo_from_the_gateway_metrics(platform: Platform) -> None:
    double = PrometheusDouble()
    double.answer(
        condition("InferenceErrorRateHigh").query,
        ({"requested_model": "chat", "service": "api-gateway"}, 0.025),
        ({"requested_model": "code", "service": "api-gateway"}, 0.002),
    )
    double.answer(condition("InferenceLatencyHigh").query, ({"requested_model": "chat"}, 7.2))
    with serving(double):
        found = {f.subject: f for f in metrics.slo(platform, Prometheus(double.url))}
    assert found["errors chat"].verdict == "fail" and "2.50 %" in found["errors chat"].detail
    assert found["errors code"].verdict == "ok"
    assert found["p99 chat"].verdict == "warn"


def test_slo_without_traffic_or_prometheus(platform: Platform) -> None:
    double = PrometheusDouble()
    double.answer(condition("InferenceErrorRateHigh").query, ({"requested_model": "chat"}, float("nan")))  # 0/0
    with serving(double):
        (f,) = metrics.slo(platform, Prometheus(double.url))
    assert f.verdict == "n/a" and "no gateway requests" in f.detail
    (f,) = metrics.slo(platform, None)
    assert f.verdict == "n/a" and "inferops:dailyCheck.prometheus_url" in f.detail


def test_prometheus_errors_warn_naming_the_url(platform: Platform) -> None:
    double = PrometheusDouble(errors={condition("InferenceErrorRateHigh").query})
    with serving(double):
        (f,) = metrics.slo(platform, Prometheus(double.url))
    assert f.verdict == "warn" and double.url in f.detail and "parse error" in f.detail


def test_cost_on_eks_only() -> None:
    eks = _eks()
    double = PrometheusDouble()
    double.answer(condition("DailyCostExceeded").query, ({}, 1234.5))
    double.answer(condition("GPUCostSpike").query, ({}, 40.0))
    with serving(double):
        found = metrics.cost(eks, Prometheus(double.url))
        assert [(f.subject, f.verdict) for f in found] == [("last 24 h", "warn"), ("GPU per hour, change in 1 h", "ok")]
        assert "$1,234" in found[0].detail
        empty = PrometheusDouble()
    with serving(empty):
        (f,) = metrics.cost(eks, Prometheus(empty.url))
    assert f.verdict == "warn" and "OpenCost" in f.detail


def test_cost_is_not_applicable_on_compose(platform: Platform) -> None:
    (f,) = metrics.cost(platform, None)
    assert f.verdict == "n/a" and "compose" in f.detail


def test_node_exporter_disks_with_the_config_thresholds(platform: Platform) -> None:
    double = PrometheusDouble()
    double.answer(
        condition("DiskSpaceLow", "warning").query,
        ({"mountpoint": "/", "host": "gpu-1"}, 0.5),
        ({"mountpoint": "/mnt/e/ai-data", "host": "gpu-1"}, 0.9),
        ({"mountpoint": "/var/lib/docker", "host": "gpu-1"}, 0.97),
    )
    with serving(double):
        found = {f.subject: f.verdict for f in disk.node_exporter_disks(Prometheus(double.url), platform.daily_check)}
    assert found == {"gpu-1:/": "ok", "gpu-1:/mnt/e/ai-data": "warn", "gpu-1:/var/lib/docker": "fail"}


# --- EKS: a double of the Kubernetes API server, read through the real kubernetes client ----------


def _node(name: str, ready: str, reason: str = "") -> dict[str, Any]:
    cond = {"type": "Ready", "status": ready, "reason": reason or "KubeletReady", "message": reason or "ok"}
    return {
        "metadata": {"name": name, "labels": {"node.kubernetes.io/instance-type": "g6.xlarge"}},
        "spec": {},
        "status": {"conditions": [cond], "allocatable": {"nvidia.com/gpu": "1"}},
    }


def _pod(name: str, phase: str, ready: bool, restarts: int = 0, waiting: str | None = None) -> dict[str, Any]:
    state = {"waiting": {"reason": waiting}} if waiting else {"running": {"startedAt": "2026-11-25T10:00:00Z"}}
    status = {"name": "llama", "ready": ready, "restartCount": restarts, "image": "i", "imageID": "", "state": state}
    return {
        "metadata": {"name": name, "namespace": "inference"},
        "status": {"phase": phase, "containerStatuses": [status]},
    }


def _k8s(nodes: list[dict], pods: list[dict]) -> FakeServer:
    return FakeServer(
        {
            "/api/v1/nodes": lambda _h: (200, {"kind": "NodeList", "apiVersion": "v1", "metadata": {}, "items": nodes}),
            "/api/v1/namespaces/inference/pods": lambda _h: (
                200,
                {"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": pods},
            ),
        }
    )


def _target(eks: Platform, port: int) -> KubernetesTarget:
    from kubernetes.client import ApiClient, Configuration

    cfg = Configuration()
    cfg.host = f"http://127.0.0.1:{port}"
    return KubernetesTarget(eks, namespace=eks.eks.namespaces.inference, api_client=ApiClient(cfg))


def test_gpu_nodes_and_pods_through_the_kubernetes_target() -> None:
    eks = _eks()
    fake = _k8s(
        [_node("gpu-a", "True"), _node("gpu-b", "False", "KubeletNotReady")],
        [
            _pod("inference-chat-1", "Running", True),
            _pod("inference-code-1", "Running", True, restarts=4),
            _pod("embedding-1", "Running", False, restarts=7, waiting="CrashLoopBackOff"),
            _pod("api-gateway-1", "Pending", False),
        ],
    )
    with serving_http({"k8s": fake}):
        target = _target(eks, fake.port)
        nodes = {f.subject: f for f in kube.gpu_nodes(target)}
        pods = {f.subject: f for f in kube.pods(target)}
    assert any(h.startswith("/api/v1/nodes") for h in fake.hits)
    assert nodes["gpu-a"].verdict == "ok" and "1 GPU(s), g6.xlarge" in nodes["gpu-a"].detail
    assert nodes["gpu-b"].verdict == "fail" and "KubeletNotReady" in nodes["gpu-b"].detail
    assert pods["inference-chat-1"].verdict == "ok"
    assert pods["inference-code-1"].verdict == "warn" and "restarted 4 times" in pods["inference-code-1"].detail
    assert pods["embedding-1"].verdict == "fail" and "CrashLoopBackOff" in pods["embedding-1"].detail
    assert pods["api-gateway-1"].verdict == "warn"


def test_no_gpu_nodes_and_no_pods() -> None:
    eks = _eks()
    fake = _k8s([], [])
    with serving_http({"k8s": fake}):
        target = _target(eks, fake.port)
        (nodes,) = kube.gpu_nodes(target)
        (pods,) = kube.pods(target)
    assert nodes.verdict == "warn" and kube.GPU_NODE_SELECTOR in nodes.detail
    assert pods.verdict == "fail" and "'inference'" in pods.detail


def test_kubernetes_api_down_fails_the_lines() -> None:
    from tests.doubles.serving import free_port

    target = _target(_eks(), free_port())
    (f,) = kube.gpu_nodes(target)
    assert f.verdict == "fail" and "does not answer" in f.detail


def test_eks_target_uses_the_stacks_namespace_and_context(platform: Platform) -> None:
    eks = _eks()
    target = target_for(eks)
    assert target.namespace == eks.eks.namespaces.inference == "inference"
    assert target.context == eks.eks.context
    assert [f.verdict for f in kube.not_applicable(platform)] == ["n/a", "n/a"]
