"""The OOM detector on real llama.cpp log text and Docker container states.

Log excerpts are copied from public reports of llama.cpp failures (sources above each one);
their lines are the format strings quoted in runbooks/gpu/oomlog.py, filled in by llama.cpp.
"""

from __future__ import annotations

import pytest

from runbooks.gpu import ContainerState, GpuMemory, detect

# ikawrakow/ik_llama.cpp issue #749 (a llama.cpp fork, same ggml-cuda): context creation OOM.
CONTEXT_OOM = """\
llama_kv_cache_init:      CUDA0 KV buffer size =   379.23 MiB
llama_kv_cache_init:      CUDA1 KV buffer size =    82.44 MiB
llama_new_context_with_model: KV self size  = 1005.79 MiB, c^KV (f16): 1005.79 MiB, kv^T (f16):    0.00 MiB
llama_new_context_with_model:  CUDA_Host  output buffer size =     0.99 MiB
llama_new_context_with_model: pipeline parallelism enabled (n_copies=4)
ggml_backend_cuda_buffer_type_alloc_buffer: allocating 279356.51 MiB on device 0: cudaMalloc failed: out of memory
ggml_gallocr_reserve_n: failed to allocate CUDA0 buffer of size 292926534144
llama_new_context_with_model: failed to allocate compute buffers
"""

# A service log quoted in a public ops doc: weights that no longer fit at model load.
LOAD_OOM = """\
ggml_backend_cuda_buffer_type_alloc_buffer: allocating 590.07 MiB on device 0: cudaMalloc failed: out of memory
llama_model_load: error loading model: unable to allocate CUDA0 buffer
"""

# llama-server with log prefixes and timestamps (--log-prefix): the KV cache does not fit.
KV_OOM_PREFIXED = """\
E ggml_backend_cuda_buffer_type_alloc_buffer: allocating 13285.50 MiB on device 0: cudaMalloc failed: out of memory
E llama_init_from_model: failed to initialize the context: failed to allocate buffer for kv cache
"""

# The same failure on the Vulkan backend (a public test fixture of real llama-server output):
# an out-of-memory, but not CUDA's.
VULKAN_OOM = """\
ggml_vulkan: Device memory allocation of size 1632174080 failed.
ggml_vulkan: vk::Device::allocateMemory: ErrorOutOfDeviceMemory
0.05.982.175 E alloc_tensor_range: failed to allocate Vulkan0 buffer of size 1632174080
0.06.650.537 E llama_init_from_model: failed to initialize the context: failed to allocate buffer for kv cache
0.06.650.549 E srv    load_model: failed to create_context with model './data/models/Qwen3.5-4B-MTP-UD-Q5_K_XL.gguf'
0.06.660.464 E srv  llama_server: exiting due to model loading error
"""

# A model llama.cpp cannot load for another reason (public test fixture of llama-server output).
UNKNOWN_ARCH = """\
E llama_model_load: error loading model: unknown model architecture: 'glm5next'
E srv  llama_server: exiting due to model loading error
"""

# Seed 004, "장애 징후" (signs of failure), and seed 003's PyTorch text.
SEED_004 = "CUDA error: out of memory\n"
SEED_003 = "CUDA out of memory. Tried to allocate 2.50 GiB\nRuntimeError: CUDA error: out of memory\n"

EXITED = ContainerState(status="exited", exit_code=1)
RESTARTING = ContainerState(status="restarting", exit_code=134, restart_count=7)
RUNNING = ContainerState(status="running", health="healthy")


@pytest.mark.parametrize("logs", [CONTEXT_OOM, LOAD_OOM, KV_OOM_PREFIXED, SEED_004, SEED_003])
def test_crashed_service_with_cuda_oom_lines_is_a_cuda_oom(logs: str) -> None:
    d = detect("inference-chat", EXITED, logs)
    assert d.cuda_oom and d.needs_fewer_layers
    assert d.apply_by == "recreate"
    assert any(e.cuda for e in d.evidence)


def test_evidence_names_the_failed_allocation_and_its_source() -> None:
    d = detect("inference-code", RESTARTING, CONTEXT_OOM)
    assert [e.pattern for e in d.evidence] == ["cudaMalloc", "buffer-alloc", "compute-buffers"]
    assert d.requested_mib == pytest.approx(292926534144 / 2**20)
    assert "ggml-cuda.cu" in d.evidence[0].source


def test_load_oom_reads_the_size_and_the_load_failure_line() -> None:
    d = detect("inference-chat", RESTARTING, LOAD_OOM)
    assert d.requested_mib == pytest.approx(590.07)
    assert d.load_failures == ("llama_model_load: error loading model: unable to allocate CUDA0 buffer",)


def test_torch_message_size_is_read_in_mib() -> None:
    d = detect("inference-chat", EXITED, SEED_003)
    assert d.requested_mib == pytest.approx(2.5 * 1024)


def test_vulkan_oom_is_not_a_cuda_oom() -> None:
    d = detect("inference-chat", EXITED, VULKAN_OOM)
    assert not d.cuda_oom
    assert [e.pattern for e in d.evidence] == ["kv-cache"]  # supporting line only
    assert len(d.load_failures) == 1


def test_load_failure_without_oom_is_not_a_gpu_layer_problem() -> None:
    d = detect("inference-chat", EXITED, UNKNOWN_ARCH)
    assert not d.cuda_oom and not d.needs_fewer_layers
    assert len(d.load_failures) == 2
    assert any("not a GPU-layer problem" in r for r in d.reasons)


def test_healthy_startup_lines_mentioning_cuda_buffers_are_not_evidence() -> None:
    startup = CONTEXT_OOM.split("ggml_backend_cuda")[0]
    d = detect("inference-chat", RUNNING, startup)
    assert d.evidence == () and not d.needs_fewer_layers


def test_kernel_oom_kill_is_host_memory_not_vram() -> None:
    state = ContainerState(status="exited", exit_code=137, oom_killed=True)
    d = detect("inference-chat", state, "srv  update_slots: all slots are idle\n")
    assert d.host_oom and not d.cuda_oom and not d.needs_fewer_layers


def test_oom_in_log_of_a_service_that_never_restarted_is_not_a_crash() -> None:
    d = detect("inference-chat", RUNNING, LOAD_OOM)
    assert not d.cuda_oom
    assert any("without restarts" in r for r in d.reasons)


def test_restarted_service_that_serves_again_is_applied_by_reload() -> None:
    state = ContainerState(status="running", restart_count=2, health="healthy")
    d = detect("inference-chat", state, SEED_004)
    assert d.cuda_oom and d.apply_by == "reload"


def test_high_gpu_memory_alone_asks_for_fewer_layers() -> None:
    memory = [GpuMemory("0", used_mib=75_000, free_mib=5_000), GpuMemory("1", used_mib=1_000, free_mib=79_000)]
    d = detect("inference-chat", RUNNING, "", memory)
    assert not d.cuda_oom and d.needs_fewer_layers
    assert [g.gpu for g in d.high_memory] == ["0"]
    assert d.apply_by == "reload"


def test_threshold_is_strictly_above() -> None:
    at = [GpuMemory("0", used_mib=90, free_mib=10)]
    assert not detect("inference-chat", RUNNING, "", at, threshold=0.9).high_memory
    assert detect("inference-chat", RUNNING, "", at, threshold=0.85).high_memory


def test_state_from_docker_inspect() -> None:
    # Field names of the Engine API ContainerInspectResponse (docker inspect <container>).
    attrs = {
        "Id": "4f1c",
        "RestartCount": 3,
        "State": {
            "Status": "restarting",
            "Running": True,
            "Restarting": True,
            "OOMKilled": False,
            "Dead": False,
            "ExitCode": 134,
            "Health": {"Status": "unhealthy", "FailingStreak": 4},
        },
    }
    state = ContainerState.from_inspect(attrs)
    assert state == ContainerState(status="restarting", exit_code=134, restart_count=3, health="unhealthy")
    assert state.failed and not state.serving


def test_unknown_status_is_refused() -> None:
    with pytest.raises(ValueError, match="container status 'crashed'"):
        ContainerState(status="crashed")
