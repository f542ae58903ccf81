"""runbook.gpu-oom on seed 003's "GPU OOM" symptoms: a pod whose container status the kubelet would
report (CrashLoopBackOff, restarts, lastState OOMKilled/Error) and whose previous log holds the CUDA
OOM lines llama.cpp prints (runbooks/gpu/oomlog.py). Status goes through the pod status
subresource with the real client; the log is the kubelet's, so only the double is told it."""

from __future__ import annotations

import copy
from pathlib import Path

from tests.unit.eks.helpers import causes, changed_keys, config_of, diagnose, finding, pod_template, proposed
from tests.unit.eks.scenarios import Cluster, now

WEIGHTS_OOM = [
    "llama_model_load_from_file_impl: using device CUDA0 (NVIDIA A100-SXM4-40GB) - 1024 MiB free",
    "ggml_backend_cuda_buffer_type_alloc_buffer: allocating 1839.43 MiB on device 0: cudaMalloc failed: out of memory",
    "alloc_tensor_range: failed to allocate CUDA0 buffer of size 1928790016",
    "llama_model_load: error loading model: unable to allocate CUDA0 buffer",
    "srv    load_model: failed to load model, '/models/qwen2.5-3b-instruct-q4_k_m.gguf'",
]
KV_OOM = [
    "ggml_backend_cuda_buffer_type_alloc_buffer: allocating 4096.00 MiB on device 0: cudaMalloc failed: out of memory",
    "llama_init_from_model: failed to initialize the context: failed to allocate buffer for kv cache",
]


def _crashing_pod(cluster: Cluster, eks_objects: list, service: str, last: dict, ready_once: bool = False) -> str:
    labels, template = pod_template(eks_objects, service)
    name = f"{service}-6f7c8-q2w9z"
    cluster.node("gpu-node-1", "ap-northeast-2a", "p4d.24xlarge")
    cluster.pod(name, {**copy.deepcopy(template), "nodeName": "gpu-node-1"}, labels)
    status = {
        "phase": "Running",
        "containerStatuses": [
            {
                "name": service,
                "image": template["containers"][0]["image"],
                "imageID": "",
                "ready": False,
                "started": False,
                "restartCount": 4,
                "state": {
                    "waiting": {
                        "reason": "CrashLoopBackOff",
                        "message": f"back-off 2m40s restarting failed container={service}",
                    }
                },
                "lastState": {"terminated": {**last, "startedAt": now(), "finishedAt": now()}},
            }
        ],
    }
    cluster.pod_status(name, status)
    return name


def test_weights_that_do_not_fit_get_fewer_gpu_layers_from_the_planner(
    cluster: Cluster, eks_objects: list, stack_file: Path
) -> None:
    pod = _crashing_pod(cluster, eks_objects, "inference-chat", {"exitCode": 1, "reason": "Error"})
    cluster.log(pod, WEIGHTS_OOM, previous=True)
    cluster.log(pod, ["main: loading model"])
    before = config_of(stack_file)
    record = diagnose("gpu_oom", yes=True)
    assert record.exit_code == 0, record.error
    assert causes(record) == ["cuda-oom-weights"]
    assert proposed(record) == {"tuning.CHAT_N_GPU_LAYERS": 500}  # seed steps: no GGUF on this machine
    assert "unable to allocate CUDA0 buffer" in " ".join(finding(record, "cuda-oom-weights")["evidence"])
    assert changed_keys(before, config_of(stack_file)) == {"tuning.CHAT_N_GPU_LAYERS"}
    looked = record.measurements["diagnosis"]["looked_at"]
    assert f"logs {pod}/inference-chat --previous: 5 lines" in looked


def test_kv_cache_oom_halves_the_sequences_and_quantises_the_cache(
    cluster: Cluster, eks_objects: list, stack_file: Path
) -> None:
    pod = _crashing_pod(cluster, eks_objects, "inference-code", {"exitCode": 134, "reason": "Error"})
    cluster.log(pod, KV_OOM, previous=True)
    record = diagnose("gpu_oom", service="inference-code")
    assert causes(record) == ["cuda-oom-kv-cache"]
    assert proposed(record) == {"eks.inference.max_num_seqs": 4, "eks.inference.kv_cache_type": "q8_0"}


def test_oom_killed_without_a_cuda_line_is_host_memory(cluster: Cluster, eks_objects: list, stack_file: Path) -> None:
    pod = _crashing_pod(cluster, eks_objects, "inference-chat", {"exitCode": 137, "reason": "OOMKilled"})
    cluster.log(pod, ["llama_model_loader: loaded meta data with 34 key-value pairs"], previous=True)
    before = config_of(stack_file)
    record = diagnose("gpu_oom", yes=True)
    assert causes(record) == ["host-oom"]
    assert proposed(record) == {"eks.inference.memory_limit_gib": 128}
    assert "lastState.terminated.reason=OOMKilled exitCode=137" in finding(record, "host-oom")["evidence"][0]
    assert changed_keys(before, config_of(stack_file)) == {"eks.inference.memory_limit_gib"}


def test_gpu_memory_above_the_alert_from_nvidia_smi_in_the_pod(cluster: Cluster, kube, stack_file: Path) -> None:
    """No crash; `nvidia-smi` in the running pod (seed 003's exec) reads 95 % used."""
    pod = kube.pods_of("inference-chat")[0]["metadata"]["name"]
    csv = "index, memory.used [MiB], memory.free [MiB], memory.total [MiB]\n0, 38912 MiB, 2048 MiB, 40960 MiB\n"
    cluster.exec_answer(pod, "nvidia-smi", 0, csv)
    record = diagnose("gpu_oom")
    assert causes(record) == ["gpu-memory-high"]
    assert proposed(record) == {"gpuLayers.headroom_pct": 15}
    assert (
        pod,
        ["nvidia-smi", "--query-gpu=index,memory.used,memory.free,memory.total", "--format=csv"],
    ) in kube.execs


def test_healthy_gpu_pods_find_nothing_and_say_dcgm_was_not_read(cluster: Cluster, stack_file: Path) -> None:
    record = diagnose("gpu_oom")
    assert causes(record) == [] and proposed(record) == {}
    assert any(item.startswith("DCGM: no Prometheus URL") for item in record.measurements["diagnosis"]["looked_at"])


def test_dcgm_from_prometheus_feeds_the_planner_with_free_vram(
    cluster: Cluster, eks_objects: list, stack_file: Path
) -> None:
    """DCGM where present: FB_USED / FB_FREE through Prometheus; the free MiB is what the planner plans for."""
    from runbooks.gpu.memory import DCGM_QUERY
    from tests.doubles.prometheus_double import PrometheusDouble, serving

    pod = _crashing_pod(cluster, eks_objects, "inference-chat", {"exitCode": 1, "reason": "Error"})
    cluster.log(pod, WEIGHTS_OOM, previous=True)
    prom = PrometheusDouble()
    gpu = {"Hostname": "gpu-node-1", "gpu": "0"}
    prom.answer(
        DCGM_QUERY,
        ({"__name__": "DCGM_FI_DEV_FB_USED", **gpu}, 39936),
        ({"__name__": "DCGM_FI_DEV_FB_FREE", **gpu}, 1024),
    )
    with serving(prom):
        record = diagnose("gpu_oom", prometheus_url=prom.url)
    assert prom.asked == [DCGM_QUERY]
    assert causes(record) == ["cuda-oom-weights", "gpu-memory-high"]
    assert f"DCGM at {prom.url}: 1 GPU(s)" in record.measurements["diagnosis"]["looked_at"]
    assert "1024 MiB free" in finding(record, "gpu-memory-high")["evidence"][0]
