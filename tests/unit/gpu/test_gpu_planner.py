"""The GPU-layer planner on GGUF files written with `gguf`, checked against sizes computed by hand.

Byte sizes per block come from gguf.constants.GGML_QUANT_SIZES: Q4_K 144 B / 256 weights,
Q6_K 210 B / 256, F16 2 B, F32 4 B. Each constant below shows its arithmetic.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console

from infra.spec import Platform
from infra.spec.gpu import GpuLayers
from infra.spec.model import LlamaServer
from infra.spec.stackconfig import platform_from_config
from runbooks.gpu import plan_for_service, plan_layers, plan_table, read_model_shape
from runbooks.gpu.planner import kv_cells

MIB = 2**20
DEFAULTS = GpuLayers()

# Tiny model: 2 blocks, n_embd 64, 4 heads (head dim 16), 2 KV heads, n_ff 128, vocab 32, F16/F32.
# block: F16 q 64*64 + k 64*32 + v 64*32 + o 64*64 + gate/up/down 3*64*128 = 36864 weights * 2 B
#        = 73728, + F32 norms 2*64*4 = 512  -> 74240
TINY_BLOCK = 74_240
# output layer: output.weight F16 64*32*2 = 4096 + output_norm 64*4 = 256 -> 4352
TINY_OUTPUT = 4_352
# KV at -c 512 --parallel 2: 2 slots * 256 cells; per cell (2*16 + 2*16) * 2 B = 128 -> 65536 per layer
TINY_KV_LAYER = 65_536

# Llama-3.2-3B, Q4_K blocks: q 3072^2 + k,v 3072*1024 each + o 3072^2 + gate/up 3072*8192 each
#   + down 8192*3072 = 100,663,296 weights / 256 * 144 = 56,623,104, + norms 2*3072*4 = 24,576
LLAMA_3B_BLOCK = 56_647_680
# tied: output = token_embd Q6_K 3072*128256 / 256 * 210 = 323,205,120 + output_norm 12,288
LLAMA_3B_OUTPUT = 323_217_408
# KV f16 at 4096 cells: (8*128 + 8*128) * 2 B * 4096 = 16 MiB per layer
LLAMA_3B_KV_LAYER = 16 * MIB
# compute at -b 128 (ubatch 128), 4096 cells: scores 24*128*4096*4 = 50,331,648
#   + ffn 2*8192*128*4 = 8,388,608 + logits 128256*128*4 = 65,667,072
LLAMA_3B_COMPUTE = 124_387_328

# Qwen2.5-7B, Q4_K blocks: q 3584^2 + k,v 3584*512 each + o 3584^2 + gate/up/down 3*3584*18944
#   = 233,046,016 weights / 256 * 144 = 131,088,384, + q/k/v biases (3584+512+512)*4 = 18,432
#   + norms 2*3584*4 = 28,672
QWEN_7B_BLOCK = 131_135_488
# untied: output.weight Q6_K 3584*152064 / 256 * 210 = 447,068,160 + output_norm 14,336
QWEN_7B_OUTPUT = 447_082_496
# KV f16 at 4096 cells: (4*128 + 4*128) * 2 B * 4096 = 8 MiB per layer
QWEN_7B_KV_LAYER = 8 * MIB
# compute: scores 28*128*4096*4 = 58,720,256 + ffn 2*18944*128*4 = 19,398,656 + logits 152064*128*4 = 77,856,768
QWEN_7B_COMPUTE = 155_975_680

SEED_SERVER = {"parallel": 1, "batch_size": 128, "ctx_size": 4096}  # seed 004 defaults


def _llama(n_gpu_layers: int, **kw: int) -> LlamaServer:
    return LlamaServer(model="/models/m.gguf", n_gpu_layers=n_gpu_layers, **{**SEED_SERVER, **kw})


def test_tiny_model_shape(tiny_gguf: Path) -> None:
    s = read_model_shape(tiny_gguf)
    assert (s.arch, s.n_layer, s.n_embd, s.n_head, s.n_head_kv, s.head_dim_k, s.n_vocab) == (
        "llama", 2, 64, 4, (2, 2), 16, 32,
    )  # fmt: skip
    assert s.block_bytes == (TINY_BLOCK, TINY_BLOCK)
    assert s.output_bytes == TINY_OUTPUT and not s.tied_output
    assert s.max_layers == 3


def test_tied_embeddings_count_token_embd_as_the_output_layer(tmp_path: Path) -> None:
    from tests.unit.gpu.gguf_files import write_tiny

    s = read_model_shape(write_tiny(tmp_path / "tied.gguf", tied=True))
    assert s.tied_output and s.output_bytes == 64 * 32 * 2 + 64 * 4


def test_tiny_plan_rows_and_choice(tiny_gguf: Path) -> None:
    settings = GpuLayers(compute_buffer_mib=0)
    llama = _llama(999, ctx_size=512, parallel=2)
    # budget 0.25 MiB * 0.9 = 235,929.6 B: -ngl 2 needs 144,128, -ngl 3 needs 283,904
    plan = plan_layers(
        read_model_shape(tiny_gguf), service="inference-chat", llama=llama, settings=settings, vram_free_mib=0.25
    )
    assert [r.total for r in plan.rows] == [
        0,
        TINY_OUTPUT,
        TINY_OUTPUT + TINY_BLOCK + TINY_KV_LAYER,
        TINY_OUTPUT + 2 * (TINY_BLOCK + TINY_KV_LAYER),
    ]
    assert [r.blocks_on_gpu for r in plan.rows] == [0, 0, 1, 2]
    assert plan.chosen == 2 and plan.fits and plan.changed and plan.source == "gguf"


def test_tiny_plan_keeps_all_when_everything_fits(tiny_gguf: Path) -> None:
    plan = plan_layers(
        read_model_shape(tiny_gguf),
        service="inference-chat",
        llama=_llama(999, ctx_size=512, parallel=2),
        settings=GpuLayers(compute_buffer_mib=0),
        vram_free_mib=0.31,  # budget 292,552.7 B >= 283,904
    )
    assert plan.chosen == 999 and not plan.changed
    assert any("every layer fits" in n for n in plan.notes)


@pytest.mark.parametrize(
    ("ctx", "parallel", "cells"),
    [(4096, 1, (4096, 4096)), (512, 2, (512, 256)), (500, 3, (768, 256)), (4000, 4, (4096, 1024))],
)
def test_kv_cells_follow_llama_context_padding(ctx: int, parallel: int, cells: tuple[int, int]) -> None:
    assert kv_cells(ctx, parallel) == cells


def test_llama_3b_header_only(llama_3b_gguf: Path) -> None:
    s = read_model_shape(llama_3b_gguf)
    assert s.block_bytes == (LLAMA_3B_BLOCK,) * 28
    assert s.output_bytes == LLAMA_3B_OUTPUT and s.tied_output
    assert (s.n_head_kv[0], s.head_dim_k, s.n_ff, s.n_vocab) == (8, 128, 8192, 128256)


def test_llama_3b_chat_on_2_gib_free(llama_3b_gguf: Path) -> None:
    plan = plan_layers(
        read_model_shape(llama_3b_gguf), service="inference-chat", llama=_llama(999), settings=DEFAULTS,
        vram_free_mib=2048,
    )  # fmt: skip
    full = plan.rows[29]
    assert full.weights == LLAMA_3B_OUTPUT + 28 * LLAMA_3B_BLOCK
    assert full.kv == 28 * LLAMA_3B_KV_LAYER  # 448 MiB, llama.cpp's figure for this model at -c 4096
    assert full.compute == LLAMA_3B_COMPUTE
    # budget 2048 * 0.9 MiB = 1,932,735,283.2 B; each block adds 56,647,680 + 16 MiB = 73,424,896
    base = LLAMA_3B_OUTPUT + LLAMA_3B_COMPUTE
    assert plan.rows[21].total == base + 20 * 73_424_896 == 1_916_102_656
    assert plan.rows[22].total == 1_989_527_552 and not plan.rows[22].fits
    assert plan.chosen == 21 and plan.fits and plan.changed
    assert plan.budget_mib == pytest.approx(1843.2)


def test_qwen_7b_code_on_4_gib_free(qwen_7b_gguf: Path) -> None:
    s = read_model_shape(qwen_7b_gguf)
    assert s.block_bytes == (QWEN_7B_BLOCK,) * 28 and s.output_bytes == QWEN_7B_OUTPUT and not s.tied_output
    plan = plan_layers(s, service="inference-code", llama=_llama(20), settings=DEFAULTS, vram_free_mib=4096)
    # budget 3,865,470,566.4 B; base output + compute = 603,058,176; per block 131,135,488 + 8 MiB = 139,524,096
    assert plan.rows[24].total == 603_058_176 + 23 * 139_524_096 == 3_812_112_384
    assert plan.rows[25].total == 3_951_636_480 and not plan.rows[25].fits
    assert plan.rows[29].kv == 28 * QWEN_7B_KV_LAYER and plan.rows[29].compute == QWEN_7B_COMPUTE
    assert plan.chosen == 24 and plan.current == 20


def test_kv_cache_type_changes_the_kv_bytes(qwen_7b_gguf: Path) -> None:
    s = read_model_shape(qwen_7b_gguf)
    plan = plan_layers(s, service="inference-code", llama=_llama(20), settings=GpuLayers(kv_cache_type="q8_0"),
                       vram_free_mib=4096)  # fmt: skip
    # q8_0: 34 B per 32 values: (512 + 512) * 34 / 32 * 4096 cells = 4,456,448 per layer
    assert plan.rows[29].kv == 28 * 4_456_448


def test_configured_compute_buffer_replaces_the_estimate(qwen_7b_gguf: Path) -> None:
    plan = plan_layers(read_model_shape(qwen_7b_gguf), service="inference-code", llama=_llama(20),
                       settings=GpuLayers(compute_buffer_mib=300), vram_free_mib=4096)  # fmt: skip
    assert {r.compute for r in plan.rows[1:]} == {300 * MIB} and plan.rows[0].compute == 0


def test_floor_wins_and_says_it_does_not_fit(qwen_7b_gguf: Path) -> None:
    plan = plan_layers(read_model_shape(qwen_7b_gguf), service="inference-code", llama=_llama(20),
                       settings=GpuLayers(floor=26), vram_free_mib=4096)  # fmt: skip
    assert plan.chosen == 26 and plan.fits is False
    assert any("floor of 26" in n for n in plan.notes)


def test_override_is_taken_and_checked(qwen_7b_gguf: Path) -> None:
    s = read_model_shape(qwen_7b_gguf)
    ok = plan_layers(s, service="inference-code", llama=_llama(20), settings=DEFAULTS, vram_free_mib=4096, override=10)
    assert (ok.chosen, ok.source, ok.fits) == (10, "override", True)
    over = plan_layers(s, service="inference-code", llama=_llama(20), settings=GpuLayers(floor=12),
                       vram_free_mib=1024, override=10)  # fmt: skip
    # 10 layers: 603,058,176 + 9 * 139,524,096 = 1,858,775,040 B (1772.6 MiB) > 1024 * 0.9 MiB
    assert over.chosen == 10 and over.fits is False
    assert any("below the configured floor 12" in n for n in over.notes)
    blind = plan_layers(s, service="inference-code", llama=_llama(20), settings=DEFAULTS, vram_free_mib=None,
                        override=5)  # fmt: skip
    assert blind.chosen == 5 and blind.fits is None


def _platform(local_raw: dict, **gpu_layers: object) -> Platform:
    raw = {**local_raw, "gpuLayers": gpu_layers} if gpu_layers else local_raw
    return platform_from_config("local", raw, "test")


def test_unreadable_model_falls_back_to_the_seed_steps(local_raw: dict, tmp_path: Path) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"not a gguf file")
    local = _platform(local_raw)
    chat = plan_for_service(local, "inference-chat", model_path=broken, vram_free_mib=8000)
    code = plan_for_service(local, "inference-code", model_path=tmp_path / "missing.gguf", vram_free_mib=8000)
    assert (chat.current, chat.chosen, chat.source, chat.fits) == (999, 500, "seed-fallback", None)
    assert any("a 3B has 28" in n for n in chat.notes)  # the seed's 500 still offloads all of a 3B
    assert (code.current, code.chosen) == (20, 15)


def test_fallback_below_the_seed_step_drops_a_quarter_down_to_the_floor(local_raw: dict, tmp_path: Path) -> None:
    raw = {**local_raw, "tuning": {**local_raw["tuning"], "CODE_N_GPU_LAYERS": 15}}
    assert plan_for_service(platform_from_config("local", raw, "t"), "inference-code", model_path=None,
                            vram_free_mib=1).chosen == 11  # fmt: skip
    floored = platform_from_config("local", {**raw, "gpuLayers": {"floor": 13}}, "t")
    assert plan_for_service(floored, "inference-code", model_path=None, vram_free_mib=1).chosen == 13


def test_override_with_unreadable_model_is_kept_unchecked(local_raw: dict) -> None:
    plan = plan_for_service(_platform(local_raw), "inference-chat", model_path=None, layers="12")
    assert (plan.chosen, plan.source, plan.fits) == (12, "override", None)


def test_plan_for_service_reads_the_service_settings(local_raw: dict, llama_3b_gguf: Path) -> None:
    # local stack: -c 512 --parallel 2 for inference-chat: KV 2 slots * 256 cells * 4096 B * 28 layers
    plan = plan_for_service(_platform(local_raw), "inference-chat", model_path=llama_3b_gguf, vram_free_mib="80000")
    assert plan.rows[29].kv == 512 * 4096 * 28
    assert plan.chosen == 999 and not plan.changed


def test_table_marks_the_choice_and_shows_the_figures(llama_3b_gguf: Path) -> None:
    plan = plan_layers(read_model_shape(llama_3b_gguf), service="inference-chat", llama=_llama(999),
                       settings=DEFAULTS, vram_free_mib=2048)  # fmt: skip
    console = Console(record=True, width=160)
    console.print(plan_table(plan))
    text = console.export_text()
    chosen_line = next(line for line in text.splitlines() if "← chosen" in line)
    assert chosen_line.split()[1] == "21" and "1827" in chosen_line  # 1,916,102,656 B = 1827.3 MiB
    assert "budget 1843 MiB" in text
    current_line = next(line for line in text.splitlines() if "← current" in line)
    assert current_line.split()[1] == "29"  # 999 means every layer: n_layer + 1
    shown = [line.split()[1] for line in text.splitlines() if line.startswith("│") and line.split()[1].isdigit()]
    assert len(shown) < 30 and {"20", "21", "22"} <= set(shown)
