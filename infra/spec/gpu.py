"""GPU-layer tuning settings of a stack (`inferops:gpuLayers`), read by `runbook.gpu-layers`.

They live in stack config so the OOM runbook and the next deploy agree on how much VRAM a
llama-server may plan for; nothing here is secret.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from infra.spec.base import Strict

SECRET_KEYS: tuple[str, ...] = ()

# llama-server `--cache-type-k/-v` values the planner can size (ggml types of the KV cache).
KvCacheType = Literal["f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "iq4_nl"]


class GpuLayers(Strict):
    """How the GPU-layer planner sizes a llama-server against free VRAM.

    `headroom_pct` of the free VRAM is never planned for (CUDA context, cuBLAS workspace,
    other processes growing); `floor` is the fewest layers the planner proposes (an explicit
    `--layers` may go lower); `compute_buffer_mib` replaces the planner's compute-buffer
    estimate when the real figure is known from a llama-server log; `memory_high_ratio` is the
    GPUMemoryHigh threshold on used / (used + free).
    """

    headroom_pct: float = Field(10, ge=0, lt=100)
    floor: int = Field(0, ge=0)
    kv_cache_type: KvCacheType = "f16"
    compute_buffer_mib: int | None = Field(None, ge=0)
    memory_high_ratio: float = Field(0.9, gt=0, le=1)
