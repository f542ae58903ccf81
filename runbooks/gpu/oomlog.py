"""CUDA out-of-memory lines in a service's log: the seeds' messages and llama.cpp's own.

Each pattern quotes the format string it matches and the file that prints it. llama.cpp
sources were read at ggml-org/llama.cpp (the pinned image is server-cuda-b7100; the same
strings are in current master). A line only counts as CUDA OOM evidence on its own when it
names CUDA; the generic allocation failures (KV cache, compute buffers) only back it up,
because the CPU backend prints them too when host RAM runs out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class OomPattern:
    name: str
    regex: re.Pattern[str]
    source: str
    cuda: bool  # True: proves a CUDA allocation failed; False: supporting line only


PATTERNS: tuple[OomPattern, ...] = (
    # ggml/src/ggml-cuda/ggml-cuda.cu, ggml_backend_cuda_buffer_type_alloc_buffer():
    #   GGML_LOG_ERROR("%s: allocating %.2f MiB on device %d: cudaMalloc failed: %s\n", __func__,
    #                  size / 1024.0 / 1024.0, buft_ctx->device, cudaGetErrorString(err));
    OomPattern(
        "cudaMalloc",
        re.compile(r"allocating (?P<mib>[0-9.]+) MiB on device (?P<device>\d+): cudaMalloc failed: out of memory"),
        "ggml/src/ggml-cuda/ggml-cuda.cu (ggml_backend_cuda_buffer_type_alloc_buffer)",
        cuda=True,
    ),
    # ggml/src/ggml-cuda/ggml-cuda.cu, ggml_cuda_error() -- CUDA_CHECK failures, then GGML_ABORT:
    #   GGML_LOG_ERROR(GGML_CUDA_NAME " error: %s\n", msg);   -> "CUDA error: out of memory"
    # Seed 004 ("장애 징후": CUDA error: out of memory) and seed 003 (RuntimeError: CUDA error: ...).
    OomPattern(
        "cuda-error",
        re.compile(r"CUDA error: out of memory"),
        "ggml/src/ggml-cuda/ggml-cuda.cu (ggml_cuda_error); seeds 003, 004",
        cuda=True,
    ),
    # Seed 003 (GPU OOM 증상): PyTorch's torch.cuda.OutOfMemoryError text.
    OomPattern(
        "torch-oom",
        re.compile(r"CUDA out of memory\. Tried to allocate (?P<amount>[0-9.]+ ?[KMGT]i?B)"),
        "seed 003 (PyTorch OutOfMemoryError)",
        cuda=True,
    ),
    # ggml/src/ggml-alloc.c, ggml_gallocr_reserve_n() (compute buffers) and
    # ggml/src/ggml-backend.cpp (weights/KV tensors, alloc_tensor_range in older builds):
    #   GGML_LOG_ERROR("%s: failed to allocate %s buffer of size %zu\n", __func__, ggml_backend_buft_name(...), size);
    OomPattern(
        "buffer-alloc",
        re.compile(r"failed to allocate (?P<buffer>CUDA\d+) buffer of size (?P<bytes>\d+)"),
        "ggml/src/ggml-alloc.c (ggml_gallocr_reserve_n), ggml/src/ggml-backend.cpp",
        cuda=True,
    ),
    # src/llama-model.cpp, llama_model::load_tensors():
    #   throw std::runtime_error(format("unable to allocate %s buffer", ggml_backend_buft_name(buft)));
    # printed by src/llama.cpp, llama_model_load(): "%s: error loading model: %s\n"
    OomPattern(
        "model-buffer",
        re.compile(r"unable to allocate (?P<buffer>CUDA\d+) buffer"),
        "src/llama-model.cpp (load_tensors) via src/llama.cpp (llama_model_load)",
        cuda=True,
    ),
    # src/llama-kv-cache.cpp: throw std::runtime_error("failed to allocate buffer for kv cache");
    # printed by src/llama-context.cpp, llama_init_from_model():
    #   "%s: failed to initialize the context: %s\n"
    OomPattern(
        "kv-cache",
        re.compile(r"failed to allocate buffer for kv cache"),
        "src/llama-kv-cache.cpp via src/llama-context.cpp (llama_init_from_model)",
        cuda=False,
    ),
    # src/llama-context.cpp: "failed to allocate compute pp buffers" / "compute tg buffers" (throw),
    #   LLAMA_LOG_ERROR("%s: failed to allocate compute buffers\n", __func__);
    OomPattern(
        "compute-buffers",
        re.compile(r"failed to allocate compute (?:pp |tg )?buffers"),
        "src/llama-context.cpp",
        cuda=False,
    ),
)

# Lines that say the load failed without saying why: shown as context, never OOM evidence on
# their own (a missing model file prints the same ones).
LOAD_FAILURE = re.compile(
    # src/llama.cpp, llama_model_load_from_file_impl(): "%s: failed to load model\n"
    # tools/server/server-context.cpp: SRV_ERR("failed to load model, '%s'\n", ...)
    # tools/server/server.cpp:         SRV_ERR("%s", "exiting due to model loading error\n")
    # src/llama.cpp, llama_model_load(): "%s: error loading model: %s\n"
    r"failed to load model|exiting due to model loading error|error loading model:"
)


@dataclass(frozen=True)
class LogEvidence:
    """One log line that matched a pattern, with what the pattern could read from it."""

    pattern: str
    line: str
    source: str
    cuda: bool
    requested_mib: float | None = None


def _requested_mib(match: re.Match[str]) -> float | None:
    groups = match.groupdict()
    if groups.get("mib"):
        return float(groups["mib"])
    if groups.get("bytes"):
        return int(groups["bytes"]) / 2**20
    amount = groups.get("amount")
    if amount:
        number, unit = re.match(r"([0-9.]+) ?([KMGT])", amount).groups()  # type: ignore[union-attr]
        return float(number) * {"K": 2**-10, "M": 1, "G": 2**10, "T": 2**20}[unit]
    return None


def scan_log(text: str) -> tuple[list[LogEvidence], list[str]]:
    """OOM evidence lines and load-failure lines found in `text` (in log order)."""
    evidence: list[LogEvidence] = []
    failures: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        for pattern in PATTERNS:
            match = pattern.regex.search(line)
            if match:
                evidence.append(LogEvidence(pattern.name, line, pattern.source, pattern.cuda, _requested_mib(match)))
                break
        if LOAD_FAILURE.search(line):
            failures.append(line)
    return evidence, failures


def has_cuda_oom(evidence: list[LogEvidence]) -> bool:
    """True when at least one line proves a CUDA allocation failed."""
    return any(e.cuda for e in evidence)
