"""GGUF files for the planner tests, written with the `gguf` package (ggml-org's writer).

`write_tiny` writes a real 2-layer model with data. `write_header_only` writes the header, the
metadata and the tensor infos of a real model's shapes, then extends the file as a sparse hole
to the size the tensor infos promise, so `GGUFReader` maps it without gigabytes on disk.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from gguf import GGUFWriter
from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType

F32 = GGMLQuantizationType.F32
F16 = GGMLQuantizationType.F16
Q4_K = GGMLQuantizationType.Q4_K
Q6_K = GGMLQuantizationType.Q6_K


@dataclass(frozen=True)
class Arch:
    """Hyperparameters as a HF config.json states them."""

    name: str
    n_layer: int
    n_embd: int
    n_head: int
    n_head_kv: int
    n_ff: int
    n_vocab: int
    tied: bool
    qkv_bias: bool = False

    @property
    def head_dim(self) -> int:
        return self.n_embd // self.n_head


# meta-llama/Llama-3.2-3B config.json: 28 layers, hidden 3072, 24 heads, 8 KV heads,
# intermediate 8192, vocab 128256, tie_word_embeddings true.
LLAMA_32_3B = Arch("llama", 28, 3072, 24, 8, 8192, 128256, tied=True)
# Qwen/Qwen2.5-7B (and Qwen2.5-Coder-7B) config.json: 28 layers, hidden 3584, 28 heads,
# 4 KV heads, intermediate 18944, vocab 152064, tie_word_embeddings false, q/k/v biases.
QWEN_25_7B = Arch("qwen2", 28, 3584, 28, 4, 18944, 152064, tied=False, qkv_bias=True)
# The tiny test model: 2 layers, 64-dim, grouped-query attention (4 heads, 2 KV heads).
TINY = Arch("llama", 2, 64, 4, 2, 128, 32, tied=False)


def _metadata(w: GGUFWriter, a: Arch) -> None:
    w.add_block_count(a.n_layer)
    w.add_context_length(4096)
    w.add_embedding_length(a.n_embd)
    w.add_feed_forward_length(a.n_ff)
    w.add_head_count(a.n_head)
    w.add_head_count_kv(a.n_head_kv)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_vocab_size(a.n_vocab)


def tensor_specs(a: Arch, weight: GGMLQuantizationType, embd: GGMLQuantizationType, out: GGMLQuantizationType):
    """(name, ggml ne shape, type) of every tensor of a llama-style model."""
    kv = a.n_head_kv * a.head_dim
    specs = [("token_embd.weight", (a.n_embd, a.n_vocab), embd), ("output_norm.weight", (a.n_embd,), F32)]
    if not a.tied:
        specs.append(("output.weight", (a.n_embd, a.n_vocab), out))
    for i in range(a.n_layer):
        b = f"blk.{i}."
        specs += [
            (b + "attn_norm.weight", (a.n_embd,), F32),
            (b + "attn_q.weight", (a.n_embd, a.n_embd), weight),
            (b + "attn_k.weight", (a.n_embd, kv), weight),
            (b + "attn_v.weight", (a.n_embd, kv), weight),
            (b + "attn_output.weight", (a.n_embd, a.n_embd), weight),
            (b + "ffn_norm.weight", (a.n_embd,), F32),
            (b + "ffn_gate.weight", (a.n_embd, a.n_ff), weight),
            (b + "ffn_up.weight", (a.n_embd, a.n_ff), weight),
            (b + "ffn_down.weight", (a.n_ff, a.n_embd), weight),
        ]
        if a.qkv_bias:
            specs += [
                (b + "attn_q.bias", (a.n_embd,), F32),
                (b + "attn_k.bias", (kv,), F32),
                (b + "attn_v.bias", (kv,), F32),
            ]
    return specs


def _nbytes(ne: tuple[int, ...], t: GGMLQuantizationType) -> int:
    block, size = GGML_QUANT_SIZES[t]
    return int(np.prod(ne)) // block * size


def write_header_only(path: Path, a: Arch, weight=Q4_K, embd=Q6_K, out=Q6_K) -> Path:
    """A GGUF with `a`'s tensor infos and no tensor data (a sparse hole of the right size)."""
    w = GGUFWriter(path, a.name)
    _metadata(w, a)
    total = 0
    for name, ne, t in tensor_specs(a, weight, embd, out):
        n = _nbytes(ne, t)
        # add_tensor_info takes numpy order (rows first); the file stores ggml's ne order
        w.add_tensor_info(name, tuple(reversed(ne)), np.dtype(np.float32), n, raw_dtype=t)
        total += GGUFWriter.ggml_pad(n, w.data_alignment)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    w.close()
    start = GGUFWriter.ggml_pad(path.stat().st_size, w.data_alignment)
    os.truncate(path, start + total)
    return path


def write_tiny(path: Path, tied: bool = False) -> Path:
    """A complete 2-layer, 64-dim model with data: F16 matrices, F32 norms."""
    a = Arch("llama", 2, 64, 4, 2, 128, 32, tied=tied)
    w = GGUFWriter(path, a.name)
    _metadata(w, a)
    rng = np.random.default_rng(0)
    for name, ne, t in tensor_specs(a, F16, F16, F16):
        dtype = np.float16 if t == F16 else np.float32
        w.add_tensor(name, rng.standard_normal(tuple(reversed(ne))).astype(dtype))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path
