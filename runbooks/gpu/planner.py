"""The largest n_gpu_layers that fits free VRAM with headroom, from the GGUF file itself.

VRAM for `-ngl k` = weights of the layers on the GPU + their KV cache + a compute buffer.
The layout follows llama.cpp (see ModelShape); the KV geometry follows src/llama-context.cpp
and src/llama-kv-cache.cpp; the compute buffer is an estimate (or the configured figure).
When the model file cannot be read, the seed's fixed steps are the fallback.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from infra.spec.gpu import GpuLayers
from infra.spec.model import LlamaServer
from runbooks.gpu.modelshape import ModelShape

MIB = 2**20
KV_PAD = 256  # src/llama-context.cpp: n_ctx and n_ctx_seq are padded to 256 cells
DEFAULT_UBATCH = 512  # common/common.h: n_ubatch = 512 (llama-server -ub); clamped to -b

# Seed 004 "GPU 레이어 조정": on OOM, CHAT_N_GPU_LAYERS 999 -> 500, CODE_N_GPU_LAYERS 20 -> 15.
SEED_STEPS: dict[str, tuple[int, int]] = {"CHAT_N_GPU_LAYERS": (999, 500), "CODE_N_GPU_LAYERS": (20, 15)}
# Beyond the seed's one step, each fallback step drops a quarter of the layers (its 20 -> 15).
FALLBACK_KEEP = 0.75

Source = Literal["gguf", "override", "seed-fallback"]


def _pad(n: int, to: int) -> int:
    return (n + to - 1) // to * to


def kv_cells(ctx_size: int, parallel: int) -> tuple[int, int]:
    """(cells in all KV streams, cells per slot) for llama-server `-c ctx_size --parallel N`.

    src/llama-context.cpp: n_ctx = GGML_PAD(n_ctx, 256); without a unified KV cache (the
    default when --parallel is given) n_ctx_seq = GGML_PAD(n_ctx / n_seq_max, 256) and the
    cache holds one stream of n_ctx_seq cells per slot (src/llama-kv-cache.cpp, n_stream).
    """
    n_ctx = _pad(ctx_size, KV_PAD)
    per_slot = _pad(n_ctx // parallel, KV_PAD)
    if per_slot == 0:
        raise ValueError(f"ctx_size {ctx_size} leaves no KV cells for {parallel} slots")
    return per_slot * parallel, per_slot


def kv_bytes_per_cell(shape: ModelShape, layer: int, kv_type: str) -> float:
    """K + V bytes one cell takes in `layer`: (n_embd_k_gqa + n_embd_v_gqa) x bytes per element."""
    from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType

    block, size = GGML_QUANT_SIZES[GGMLQuantizationType[kv_type.upper()]]
    return (shape.n_embd_k_gqa(layer) + shape.n_embd_v_gqa(layer)) * size / block


def compute_estimate(shape: ModelShape, llama: LlamaServer, per_slot_cells: int, output_on_gpu: bool) -> int:
    """A conservative compute-buffer figure for one ubatch (F32 activations).

    Attention scores without flash attention (n_head x ubatch x cells of one slot), the two
    FFN intermediates, and the logits when the output layer is on the GPU. llama.cpp's graph
    allocator reuses memory, so the real buffer is usually smaller; set
    `gpuLayers.compute_buffer_mib` to the "CUDA0 compute buffer size" a log reports.
    """
    ubatch = min(llama.batch_size, DEFAULT_UBATCH)
    scores = shape.n_head * ubatch * per_slot_cells * 4
    ffn = 2 * shape.n_ff * ubatch * 4
    logits = shape.n_vocab * ubatch * 4 if output_on_gpu else 0
    return scores + ffn + logits


@dataclass(frozen=True)
class PlanRow:
    """VRAM needed with `-ngl n_gpu_layers`, in bytes."""

    n_gpu_layers: int
    blocks_on_gpu: int
    output_on_gpu: bool
    weights: int
    kv: int
    compute: int
    fits: bool

    @property
    def total(self) -> int:
        return self.weights + self.kv + self.compute


def plan_row(shape: ModelShape, k: int, llama: LlamaServer, settings: GpuLayers, budget: float) -> PlanRow:
    """The VRAM a llama-server of `shape` needs with `-ngl k`."""
    k = min(k, shape.max_layers)
    blocks = max(0, min(k - 1, shape.n_layer))
    first = shape.n_layer - blocks  # the last `blocks` blocks are the ones offloaded
    output_on_gpu = k >= 1
    weights = sum(shape.block_bytes[first:]) + (shape.output_bytes if output_on_gpu else 0)
    cells, per_slot = kv_cells(llama.ctx_size, llama.parallel)
    per_cell = sum(kv_bytes_per_cell(shape, il, settings.kv_cache_type) for il in range(first, shape.n_layer))
    kv = math.ceil(per_cell * cells)
    if k == 0:
        compute = 0
    elif settings.compute_buffer_mib is not None:
        compute = settings.compute_buffer_mib * MIB
    else:
        compute = compute_estimate(shape, llama, per_slot, output_on_gpu)
    return PlanRow(k, blocks, output_on_gpu, weights, kv, compute, fits=weights + kv + compute <= budget)


@dataclass(frozen=True)
class LayerPlan:
    """What the runbook shows and persists: the chosen -ngl and how it was reached."""

    service: str
    current: int
    chosen: int
    source: Source
    fits: bool | None  # None: not checked (no model file or no VRAM figure)
    vram_free_mib: float | None = None
    budget_mib: float | None = None
    max_layers: int | None = None
    rows: tuple[PlanRow, ...] = field(default=())
    notes: tuple[str, ...] = field(default=())

    def effective(self, layers: int) -> int:
        """-ngl values above n_layer + 1 all mean "everything"; compare them as such."""
        return min(layers, self.max_layers) if self.max_layers is not None else layers

    @property
    def changed(self) -> bool:
        return self.effective(self.chosen) != self.effective(self.current)

    def row(self, layers: int) -> PlanRow | None:
        k = self.effective(layers)
        return next((r for r in self.rows if r.n_gpu_layers == k), None)


def plan_layers(
    shape: ModelShape,
    *,
    service: str,
    llama: LlamaServer,
    settings: GpuLayers,
    vram_free_mib: float | None,
    override: int | None = None,
) -> LayerPlan:
    """Largest -ngl whose weights + KV + compute fit (1 - headroom) x free VRAM, not below the floor.

    With `override` the operator's value is taken as is and the table still shows what it needs.
    """
    budget_mib = None if vram_free_mib is None else vram_free_mib * (1 - settings.headroom_pct / 100)
    budget = math.inf if budget_mib is None else budget_mib * MIB
    rows = tuple(plan_row(shape, k, llama, settings, budget) for k in range(shape.max_layers + 1))
    notes = []
    if override is not None:
        row = rows[min(override, shape.max_layers)]
        fits = None if budget_mib is None else row.fits
        if override < settings.floor:
            notes.append(f"--layers {override} is below the configured floor {settings.floor}")
        if fits is False:
            notes.append(f"--layers {override} needs {row.total / MIB:.0f} MiB, over the {budget_mib:.0f} MiB budget")
        return LayerPlan(
            service,
            llama.n_gpu_layers,
            override,
            "override",
            fits,
            vram_free_mib,
            budget_mib,
            shape.max_layers,
            rows,
            tuple(notes),
        )
    if budget_mib is None:
        raise ValueError("plan_layers needs vram_free_mib unless an override is given")
    best = max((r.n_gpu_layers for r in rows if r.fits), default=-1)
    chosen = max(best, settings.floor)
    fits = best >= settings.floor
    if not fits:
        floor_mib = rows[min(settings.floor, shape.max_layers)].total / MIB
        notes.append(
            f"even the floor of {settings.floor} layers needs {floor_mib:.0f} MiB, over the {budget_mib:.0f} MiB"
            " budget: free VRAM or lower ctx_size/parallel"
        )
    if chosen >= shape.max_layers and llama.n_gpu_layers >= shape.max_layers:
        chosen = llama.n_gpu_layers  # everything fits: keep the operator's "all" value as written
        notes.append("every layer fits: the OOM has another cause (other processes, context, batch)")
    return LayerPlan(
        service,
        llama.n_gpu_layers,
        chosen,
        "gguf",
        fits,
        vram_free_mib,
        budget_mib,
        shape.max_layers,
        rows,
        tuple(notes),
    )


def fallback_plan(service: str, knob: str | None, current: int, settings: GpuLayers, reason: str) -> LayerPlan:
    """The seed's fixed step when the model file cannot be read (CHAT 999 -> 500, CODE 20 -> 15).

    Below the seed's target, a quarter of the layers is dropped per step, never below the floor.
    """
    step = SEED_STEPS.get(knob or "")
    seed_step = step is not None and current > step[1]
    chosen = max(step[1] if step and seed_step else math.floor(current * FALLBACK_KEEP), settings.floor)
    notes = [f"model file not read ({reason}): seed step, no VRAM check"]
    if knob == "CHAT_N_GPU_LAYERS" and chosen >= 100:
        notes.append(f"{chosen} still offloads every layer of a model with fewer than {chosen} blocks (a 3B has 28)")
    if chosen == current:
        notes.append(f"already at the floor of {settings.floor} layers: nothing lower to try")
    return LayerPlan(service, current, chosen, "seed-fallback", fits=None, notes=tuple(notes))
