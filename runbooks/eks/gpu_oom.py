"""`runbook.gpu-oom`: GPU pods with CUDA OOM (seed 003 "GPU OOM").

Reads the GPU pods (container statuses: OOMKilled, CrashLoopBackOff, restarts, last state), each
restarted container's logs with and without `--previous`, GPU memory from DCGM through Prometheus
where there is one and from `nvidia-smi` in the running pods (seed 003's `kubectl exec ...
nvidia-smi`); classify/gpu_oom.py names which memory ran out and the knob; `--yes` writes it.
"""

from __future__ import annotations

from typing import Any

from infra.spec.model import Platform
from runbooks.eks.evidence import Evidence
from runbooks.eks.runbook import SEED, build_diagnosis
from runbooks.framework import Options

__all__ = ["build"]


def read(reader: Any, platform: Platform, options: Options) -> Evidence:
    from runbooks.gpu.errors import MemoryReadingError
    from runbooks.gpu.memory import NVIDIA_SMI_ARGS, parse_nvidia_smi_csv

    pods = [p for p in reader.pods() if p.gpu_request and options.service in (None, p.service)]
    reader.evidence.pods = pods
    reader.events(kinds=("Pod",))
    reader.container_logs(pods)
    # On EKS the cluster's Prometheus (kube-prometheus-stack) is not the stack's own service row.
    reader.dcgm(options.extra.get("prometheus_url") or platform.daily_check.prometheus_url)
    if not reader.evidence.gpu_memory:
        for pod in pods:
            if pod.phase == "Running" and pod.node:
                done = reader.exec(pod.name, ["nvidia-smi", *NVIDIA_SMI_ARGS])
                if done.exit_code == 0:
                    try:
                        reader.evidence.gpu_memory += parse_nvidia_smi_csv(done.output)
                    except MemoryReadingError as err:
                        reader.note(f"nvidia-smi in {pod.name}: {err}")
    return reader.evidence


def classify(evidence: Evidence, platform: Platform, options: Options) -> Any:
    from runbooks.eks.classify.gpu_oom import classify as run

    extra = dict(options.extra)
    if extra.get("vram_mib") is None and len(evidence.gpu_memory) == 1:
        extra["vram_mib"] = evidence.gpu_memory[0].free_mib
    return run(evidence, platform, extra, options.service)


build = build_diagnosis(
    "gpu-oom",
    "GPU pods with CUDA OOM, OOMKilled or restarts: which memory ran out, seed 003's knob",
    f"{SEED}: GPU OOM (kubectl exec ... nvidia-smi; dcgmi dmon -e 155,156; env MAX_BATCH_SIZE/MAX_NUM_SEQS)",
    read,
    classify,
)
