"""The default service table is seed 004's stack, and the stacks load."""

from __future__ import annotations

from infra.spec import load_platform
from infra.spec.defaults import DEFAULT_IMAGES, default_services
from infra.spec.model import Role, Tuning
from infra.spec.stackconfig import platform_from_config

SEED_004_PORTS = {
    "inference-chat": 8001,
    "inference-code": 8004,
    "api-gateway": 8000,
    "rag": 8002,
    "embedding": 8003,
    "qdrant": 6333,
}


def test_every_stack_file_loads(stack_name: str) -> None:
    platform = load_platform(stack_name)
    assert platform.stack == stack_name
    assert platform.enabled(), "a stack with no service deploys nothing"


def test_default_table_has_the_seed_ports_and_monitoring() -> None:
    services = default_services(Tuning(), DEFAULT_IMAGES)
    assert {n: services[n].port for n in SEED_004_PORTS} == SEED_004_PORTS
    assert services["prometheus"].port == 9090
    assert services["alertmanager"].port == 9093
    assert services["grafana"].port == 3000
    assert {"node-exporter", "dcgm-exporter"} <= set(services)


def test_seed_tuning_defaults_reach_the_services() -> None:
    platform = platform_from_config("t", {}, "test")
    assert platform.services["inference-chat"].llama.n_gpu_layers == 999
    assert platform.services["inference-code"].llama.n_gpu_layers == 20
    assert platform.services["inference-chat"].llama.parallel == 1
    assert platform.services["inference-chat"].llama.batch_size == 128
    rag_env = platform.services["rag"].env
    assert rag_env["LLM_REQUEST_TIMEOUT"] == "60"
    assert rag_env["RAG_LLM_TIMEOUT"] == "120"
    assert rag_env["QDRANT_MAX_RETRIES"] == "3"
    assert rag_env["QDRANT_RETRY_MIN_WAIT"] == "2"
    assert rag_env["QDRANT_RETRY_MAX_WAIT"] == "10"
    assert rag_env["RAG_TOPK"] == "4"


def test_seed_start_order() -> None:
    """Seed 004 scenario 4: backends in parallel, then the gateway, then rag."""
    platform = platform_from_config("t", {}, "test")
    waves = platform.start_order()
    position = {name: i for i, wave in enumerate(waves) for name in wave}
    for backend in ("qdrant", "embedding", "inference-chat", "inference-code"):
        assert position[backend] == 0
    assert position["api-gateway"] == 1
    assert position["rag"] == 2


def test_dependents_follow_the_graph() -> None:
    platform = platform_from_config("t", {}, "test")
    assert set(platform.dependents("inference-chat")) == {"api-gateway", "rag"}
    assert platform.dependents("rag") == []


def test_tuning_knobs_override(local_raw: dict) -> None:
    raw = {**local_raw, "tuning": {"CHAT_N_GPU_LAYERS": 500, "CODE_N_GPU_LAYERS": 15, "LLAMA_PARALLEL": 4}}
    platform = platform_from_config("local", raw, "test")
    assert platform.services["inference-chat"].llama.n_gpu_layers == 500
    assert platform.services["inference-code"].llama.n_gpu_layers == 15
    assert platform.services["inference-code"].llama.parallel == 4


def test_local_stack_runs_without_gpu(local) -> None:
    assert not local.gpu_host
    assert all(s.gpu.count == 0 for s in local.enabled())
    assert {s.name for s in local.by_role(Role.INFERENCE)} == {"inference-chat", "inference-code"}


def test_gpu_host_stack_is_remote_with_gpus(gpu_host) -> None:
    assert gpu_host.docker_host == "ssh://ops@gpu-1"
    assert gpu_host.services["inference-chat"].gpu.count == 1
    assert gpu_host.services["qdrant"].enabled
