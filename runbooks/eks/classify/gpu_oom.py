"""runbook.gpu-oom's classifier: which memory ran out in a GPU pod, and seed 003's knob for it.

Seed 003 "GPU OOM": `CUDA out of memory. Tried to allocate X GiB`, `CUDA error: out of memory`;
fixes: a smaller batch, fewer concurrent sequences (KV cache), quantisation, a memory
utilisation cap — for llama.cpp pods the GPU-layer planner (runbooks/gpu/planner.py) decides how
many layers fit. The log lines are matched by runbooks/gpu/oomlog.py (llama.cpp's own messages):

- weights do not fit at load (`unable to allocate CUDA0 buffer`, cudaMalloc while loading) →
  fewer GPU layers (`tuning.CHAT_N_GPU_LAYERS` / `services.<svc>.n_gpu_layers`, the planner);
- the KV cache does not fit (`failed to allocate buffer for kv cache` with a CUDA line) → fewer
  sequences (`eks.inference.max_num_seqs`) and a quantised KV cache (`eks.inference.kv_cache_type`);
- compute buffers / a PyTorch-style allocation at run time → a smaller batch (`max_batch_size`);
- DCGM (or nvidia-smi) above GPUMemoryHigh without a crash → plan with 15 % headroom
  (`gpuLayers.headroom_pct`: the seed's gpu_memory_utilization 0.85);
- OOMKilled without a CUDA line: host memory, not VRAM → the memory limit (`eks.inference.*`).
"""

from __future__ import annotations

from typing import Any

from infra.spec.model import Platform
from runbooks.eks.diagnosis import Diagnosis, Finding, Fix
from runbooks.eks.evidence import Evidence, PodEvidence
from runbooks.eks.fixes import SEED_MEMORY_GIB, halved
from runbooks.gpu.inputs import stack_config_path
from runbooks.gpu.oomlog import LogEvidence, scan_log

__all__ = ["classify", "layer_fix", "memory_fix"]

SEED = "seed 003 GPU OOM"
SEED_HEADROOM_PCT = 15  # gpu_memory_utilization=0.85


def _scan(pod: PodEvidence, ev: Evidence) -> tuple[list[LogEvidence], list[str]]:
    evidence: list[LogEvidence] = []
    failures: list[str] = []
    for lg in ev.logs_of(pod.name):
        found, failed = scan_log("\n".join(lg.lines))
        evidence += found
        failures += failed
    return evidence, failures


def memory_fix(platform: Platform) -> Fix:
    """More memory while loading: the seed's 32Gi/64Gi, or twice the limit when already there."""
    inf = platform.eks.inference
    request, limit = SEED_MEMORY_GIB
    new_limit = max(limit, inf.memory_limit_gib * 2) if inf.memory_limit_gib >= limit else limit
    new_request = max(inf.memory_request_gib, min(request, new_limit))
    changes: list[tuple[str, Any]] = [("eks.inference.memory_limit_gib", new_limit)]
    if new_request != inf.memory_request_gib:
        changes.append(("eks.inference.memory_request_gib", new_request))
    return Fix(tuple(changes), "seed 003 모델 로딩 실패 fix 3 (리소스 증가: requests 32Gi, limits 64Gi)")


def layer_fix(
    platform: Platform, service: str, vram_mib: float | None, model_path: str | None
) -> tuple[Fix | None, str]:
    """The GPU-layer planner's -ngl for `service` (the seed's steps without the model file)."""
    from runbooks.gpu.planner import fallback_plan
    from runbooks.gpu.service_plan import plan_for_service

    svc = platform.services.get(service)
    if svc is None or svc.llama is None:
        return None, f"{service} is no llama-server of the stack: no GPU layers to plan"
    if vram_mib is not None:
        plan = plan_for_service(platform, service, model_path=model_path, vram_free_mib=vram_mib)
    else:
        from runbooks.gpu.inputs import layer_knob

        knob = layer_knob(service)
        plan = fallback_plan(service, knob, svc.llama.n_gpu_layers, platform.gpu_layers, "not on this machine")
    why = f"-ngl {plan.current} → {plan.chosen} ({plan.source}; {'; '.join(plan.notes)})"
    if plan.chosen == plan.current:
        return None, why
    key = ".".join(stack_config_path(service))
    return Fix(((key, plan.chosen),), f"{SEED}: the GPU-layer planner (runbooks/gpu/planner.py)"), why


def _kv_fix(platform: Platform, service: str) -> Fix:
    inf = platform.eks.inference
    svc = platform.services.get(service)
    current = inf.max_num_seqs or (svc.llama.parallel if svc and svc.llama else 1)
    changes: list[tuple[str, Any]] = []
    if current > 1:
        changes.append(("eks.inference.max_num_seqs", halved(current)))
    if inf.kv_cache_type in (None, "f16"):
        changes.append(("eks.inference.kv_cache_type", "q8_0"))
    elif inf.kv_cache_type == "q8_0" and not changes:
        changes.append(("eks.inference.kv_cache_type", "q4_0"))
    return Fix(tuple(changes), f"{SEED} fix 3 (MAX_NUM_SEQS) and fix 2 (양자화: KV cache)")


def _batch_fix(platform: Platform, service: str) -> Fix:
    inf = platform.eks.inference
    svc = platform.services.get(service)
    current = inf.max_batch_size or (svc.llama.batch_size if svc and svc.llama else 512)
    return Fix((("eks.inference.max_batch_size", halved(current)),), f"{SEED} fix 1 (MAX_BATCH_SIZE 32 → 16)")


def _pod_finding(pod: PodEvidence, ev: Evidence, platform: Platform, options: dict[str, Any]) -> Finding | None:
    evidence, failures = _scan(pod, ev)
    cuda = [e for e in evidence if e.cuda]
    crashed = [c for c in pod.containers if c.crashing or c.oom_killed]
    restarts = sum(c.restarts for c in pod.containers)
    state = ", ".join(f"{c.name}: {c.reason or c.state}, {c.restarts} restarts" for c in crashed) or pod.phase
    if cuda and crashed:
        lines = tuple(e.line for e in evidence)
        names = {e.pattern for e in evidence}
        service = pod.service
        if "kv-cache" in names:
            return Finding(
                "cuda-oom-kv-cache",
                pod.ref,
                f"KV cache does not fit in VRAM ({state})",
                lines,
                "fewer parallel sequences and a quantised KV cache",
                _kv_fix(platform, service),
            )
        loading = bool({"model-buffer"} & names) or bool(failures) or not any(c.ready for c in pod.containers)
        if loading and {"model-buffer", "cudaMalloc", "buffer-alloc"} & names:
            fix, why = layer_fix(platform, service, options.get("vram_mib"), options.get("model_path"))
            return Finding(
                "cuda-oom-weights",
                pod.ref,
                f"the model's layers do not fit in VRAM at load ({state})",
                lines,
                f"offload fewer layers: {why}",
                fix,
            )
        return Finding(
            "cuda-oom-batch",
            pod.ref,
            f"CUDA allocation failed at run time ({state})",
            lines,
            "a smaller batch (compute buffers grow with it)",
            _batch_fix(platform, service),
        )
    oom = [c for c in pod.containers if c.oom_killed]
    if oom:
        lines = tuple(
            f"{c.name}: {'state' if c.reason == 'OOMKilled' else 'lastState'}.terminated.reason=OOMKilled "
            f"exitCode={c.exit_code if c.reason == 'OOMKilled' else c.last_exit_code}, {c.restarts} restarts"
            for c in oom
        )
        return Finding(
            "host-oom",
            pod.ref,
            f"OOMKilled by the kernel (memory limit {pod.memory_limit or 'none'}), "
            "no CUDA OOM logged: host RAM, not VRAM",
            lines,
            "raise the pod's memory limit (fewer GPU layers would make it worse)",
            memory_fix(platform),
        )
    if restarts and failures:
        return Finding(
            "load-failure",
            pod.ref,
            f"restarting ({state}) and failing to load without an OOM line",
            tuple(failures),
            "not a memory problem: run `invoke runbook.model-loading`",
        )
    return None


def _memory_high(ev: Evidence, platform: Platform) -> Finding | None:
    from runbooks.gpu.memory import memory_high

    threshold = platform.gpu_layers.memory_high_ratio
    high = memory_high(ev.gpu_memory, threshold)
    if not high:
        return None
    lines = tuple(f"{g.gpu}: {g.used_mib:.0f} MiB used, {g.free_mib:.0f} MiB free ({g.ratio:.0%})" for g in high)
    fix = None
    if platform.gpu_layers.headroom_pct < SEED_HEADROOM_PCT:
        fix = Fix((("gpuLayers.headroom_pct", SEED_HEADROOM_PCT),), f"{SEED} (gpu_memory_utilization=0.85)")
    return Finding(
        "gpu-memory-high",
        "GPUs",
        f"{len(high)} GPU(s) above GPUMemoryHigh {threshold:.0%}",
        lines,
        "plan GPU layers with 15 % headroom (then `invoke runbook.gpu-layers` / the planner)",
        fix,
    )


def gpu_pods(ev: Evidence, service: str | None = None) -> list[PodEvidence]:
    """The pods this runbook looks at: GPU pods (of `service` when given)."""
    return [p for p in ev.pods if p.gpu_request and service in (None, p.service)]


def classify(ev: Evidence, platform: Platform, options: dict[str, Any], service: str | None = None) -> Diagnosis:
    out = Diagnosis("gpu-oom", list(ev.looked_at))
    for pod in gpu_pods(ev, service):
        found = _pod_finding(pod, ev, platform, options)
        if found is not None:
            out.findings.append(found)
    high = _memory_high(ev, platform)
    if high is not None:
        out.findings.append(high)
    return out
