"""The classifiers as pure functions, on evidence written down from seed 003's symptoms (no cluster):
the branches the scenarios do not reach, and the order in which the fixes are chosen."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.spec import Platform
from runbooks.eks.classify import gpu_oom, karpenter, model_loading, network
from runbooks.eks.evidence import (
    ContainerEvidence,
    EventEvidence,
    Evidence,
    ExecEvidence,
    LogEvidence,
    NodeClaimEvidence,
    NodeEvidence,
    NodePoolEvidence,
    PodEvidence,
    PvcEvidence,
    Requirement,
    quantity,
)
from runbooks.eks.fixes import raised_limit
from tests.unit.k8s.conftest import make_platform

ZONES = ("ap-northeast-2a", "ap-northeast-2b", "ap-northeast-2c")
ICE = "creating instance, insufficient capacity, InsufficientInstanceCapacity"


def _pool(caps=("spot", "on-demand"), types=("p4d.24xlarge",), zones=ZONES) -> NodePoolEvidence:
    return NodePoolEvidence(
        "gpu",
        limits={"nvidia.com/gpu": "32"},
        requirements=(
            Requirement("node.kubernetes.io/instance-type", "In", types),
            Requirement("topology.kubernetes.io/zone", "In", zones),
            Requirement("karpenter.sh/capacity-type", "In", caps),
        ),
        taints=({"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"},),
    )


def _pending(**kw) -> PodEvidence:
    return PodEvidence(
        "inference",
        "chat-0",
        "Pending",
        gpu_request=1,
        labels={"app.kubernetes.io/name": "inference-chat"},
        tolerations=({"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},),
        requirements=(Requirement("karpenter.sh/nodepool", "In", ("gpu",)),),
        **kw,
    )


def _failed_claim() -> NodeClaimEvidence:
    return NodeClaimEvidence("gpu-a", "gpu", {"Launched": ("False", "LaunchFailed", ICE)})


@pytest.fixture
def eks(tmp_path: Path) -> Platform:
    return make_platform(tmp_path)


def test_capacity_with_on_demand_already_offers_the_seeds_instance_types(tmp_path: Path) -> None:
    platform = make_platform(
        tmp_path, gpu_pool={"instance_types": ["p4d.24xlarge"], "capacity_types": ["spot", "on-demand"]}
    )
    ev = Evidence(pods=[_pending()], nodepools=[_pool()], nodeclaims=[_failed_claim()])
    d = karpenter.classify(ev, platform)
    assert d.causes == ["insufficient-capacity"]
    assert d.changes() == [("eks.gpu_pool.instance_types", ("p4d.24xlarge", "p4de.24xlarge", "p5.48xlarge"))]


def test_capacity_with_every_seed_fix_in_place_advises_quotas(eks: Platform) -> None:
    ev = Evidence(pods=[_pending()], nodepools=[_pool()], nodeclaims=[_failed_claim()])
    d = karpenter.classify(ev, eks)
    assert d.causes == ["insufficient-capacity"] and d.changes() == []
    assert "quotas" in d.findings[0].advice


def test_a_zone_outside_the_region_has_no_fix(eks: Platform) -> None:
    pod = _pending()
    pod = PodEvidence(
        **{
            **pod.__dict__,
            "requirements": (*pod.requirements, Requirement("topology.kubernetes.io/zone", "In", ("us-east-1a",))),
        }
    )
    d = karpenter.classify(Evidence(pods=[pod], nodepools=[_pool()]), eks)
    assert d.causes == ["zone-not-covered"] and d.changes() == []


def test_a_required_capacity_type_the_pool_lacks(tmp_path: Path) -> None:
    platform = make_platform(tmp_path, gpu_pool={"capacity_types": ["spot"]})
    pod = _pending()
    pod = PodEvidence(
        **{
            **pod.__dict__,
            "requirements": (*pod.requirements, Requirement("karpenter.sh/capacity-type", "In", ("on-demand",))),
        }
    )
    d = karpenter.classify(Evidence(pods=[pod], nodepools=[_pool(caps=("spot",))]), platform)
    assert ("eks.gpu_pool.capacity_types", ("spot", "on-demand")) in d.changes()


def test_no_nodeclaim_and_no_event_from_karpenter_points_at_its_logs(eks: Platform) -> None:
    d = karpenter.classify(Evidence(pods=[_pending()], nodepools=[_pool()]), eks)
    assert d.causes == ["no-provisioning"]


def test_limits_are_raised_in_whole_nodes() -> None:
    assert raised_limit(32, 32, 1) == 40 and raised_limit(32, 30, 20) == 56 and raised_limit(16, 0, 1) == 24
    assert quantity("64Gi") == 64 * 2**30 and quantity("500m") == 0.5 and quantity(None) == 0


def _crashed(lines: list[str], **container) -> Evidence:
    c = ContainerEvidence("inference-chat", restarts=3, state="waiting", reason="CrashLoopBackOff", **container)
    pod = PodEvidence(
        "inference",
        "chat-0",
        "Running",
        node="n1",
        gpu_request=1,
        containers=(c,),
        labels={"app.kubernetes.io/name": "inference-chat"},
    )
    return Evidence(pods=[pod], logs=[LogEvidence("chat-0", "inference-chat", True, tuple(lines))])


def test_kv_oom_with_q8_cache_and_one_sequence_goes_to_q4(tmp_path: Path) -> None:
    platform = make_platform(tmp_path, inference={"max_num_seqs": 1, "kv_cache_type": "q8_0"})
    ev = _crashed(["CUDA error: out of memory", "failed to allocate buffer for kv cache"])
    assert gpu_oom.classify(ev, platform, {}).changes() == [("eks.inference.kv_cache_type", "q4_0")]


def test_a_runtime_cuda_oom_halves_the_batch(eks: Platform) -> None:
    ev = _crashed(["CUDA out of memory. Tried to allocate 2.50 GiB"], last_reason="Error")
    d = gpu_oom.classify(ev, eks, {})
    assert d.causes == ["cuda-oom-batch"] and d.changes() == [("eks.inference.max_batch_size", 256)]


def test_the_planner_uses_free_vram_when_known(eks: Platform) -> None:
    ev = _crashed(["llama_model_load: error loading model: unable to allocate CUDA0 buffer"])
    d = gpu_oom.classify(ev, eks, {"vram_mib": 2048.0})
    assert d.causes == ["cuda-oom-weights"] and d.changes() == [("tuning.CHAT_N_GPU_LAYERS", 500)]


def test_a_cuda_line_without_a_crash_is_no_finding(eks: Platform) -> None:
    c = ContainerEvidence("inference-chat", ready=True, state="running")
    pod = PodEvidence("inference", "chat-0", "Running", node="n1", gpu_request=1, containers=(c,))
    ev = Evidence(pods=[pod], logs=[LogEvidence("chat-0", "inference-chat", False, ("CUDA error: out of memory",))])
    assert gpu_oom.classify(ev, eks, {}).findings == []


def test_memory_fix_follows_the_seed_then_doubles(tmp_path: Path) -> None:
    low = make_platform(tmp_path, inference={"memory_request_gib": 8, "memory_limit_gib": 16})
    assert gpu_oom.memory_fix(low).changes == (
        ("eks.inference.memory_limit_gib", 64),
        ("eks.inference.memory_request_gib", 32),
    )


def test_a_missing_storage_class_without_a_default_falls_back_to_the_s3_init_container(tmp_path: Path) -> None:
    platform = make_platform(tmp_path, model_cache={"source": "pvc", "s3_uri": "s3://models/qwen"})
    pod = PodEvidence("inference", "chat-0", "Pending", claims=("model-cache",))
    event = EventEvidence(
        "inference",
        "e1",
        "u1",
        "PersistentVolumeClaim",
        "model-cache",
        "ProvisioningFailed",
        'storageclass.storage.k8s.io "efs-sc" not found',
    )
    ev = Evidence(pods=[pod], pvcs=[PvcEvidence("inference", "model-cache", "Pending", "efs-sc")], events=[event])
    d = model_loading.classify(ev, platform, {})
    assert d.causes == ["pvc-pending"] and d.changes() == [("eks.model_cache.source", "s3")]


def test_connection_refused_with_the_pvc_already_in_use_has_no_config_fix(eks: Platform) -> None:
    c = ContainerEvidence("inference-chat", restarts=2, reason="CrashLoopBackOff", state="waiting")
    pod = PodEvidence("inference", "chat-0", "Running", node="n1", containers=(c,))
    ev = Evidence(
        pods=[pod], logs=[LogEvidence("chat-0", "inference-chat", True, ("Error loading model: Connection refused",))]
    )
    d = model_loading.classify(ev, eks, {})
    assert d.causes == ["connection-refused"] and d.changes() == []


def test_network_timeouts_already_at_the_seed_value_only_advise(tmp_path: Path) -> None:
    platform = make_platform(tmp_path)
    platform = platform.model_copy(update={"tuning": platform.tuning.model_copy(update={"LLM_REQUEST_TIMEOUT": 600})})
    ev = Evidence(logs=[LogEvidence("gw", "gw", False, ("NCCL WARN Watchdog caught collective operation timeout",))])
    d = network.classify(ev, platform)
    assert d.causes == ["request-timeouts"] and d.changes() == []


def test_pods_spread_over_zones_are_fine(eks: Platform) -> None:
    pods = [
        PodEvidence("inference", f"p{i}", "Running", node=f"n{i}", labels={"app.kubernetes.io/name": s})
        for i, s in enumerate(("inference-chat", "inference-code"))
    ]
    nodes = [NodeEvidence("n0", "ap-northeast-2a"), NodeEvidence("n1", "ap-northeast-2b")]
    ev = Evidence(pods=pods, nodes=nodes, execs=[ExecEvidence("gw", ("getent", "hosts", "rag"), 0, "10.0.0.1 rag")])
    assert network.classify(ev, eks).findings == []
