"""What the GPU-layer planner needs from a GGUF file: per-layer weight bytes and KV geometry.

Read with the `gguf` package (ggml-org's own reader): tensor sizes come from the tensor infos
(type and shape, so a file whose data is never touched is enough), head counts from metadata.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runbooks.gpu.errors import ModelFileError

BLOCK = re.compile(r"^blk\.(\d+)\.")
TOKEN_EMBD = "token_embd.weight"
OUTPUT = "output.weight"


@dataclass(frozen=True)
class ModelShape:
    """Sizes of one GGUF model, in bytes, in the layout llama.cpp offloads it.

    llama.cpp keeps the input layer (token_embd) on the CPU and counts `-ngl` from the output
    layer backwards: -ngl k puts the output layer and the last k-1 blocks on the GPU
    (src/llama-model.cpp: i_gpu_start = max(n_layer + 1 - n_gpu_layers, 0)).
    """

    path: str
    arch: str
    n_layer: int
    n_embd: int
    n_head: int
    n_head_kv: tuple[int, ...]  # per layer
    head_dim_k: int
    head_dim_v: int
    n_ff: int
    n_vocab: int
    block_bytes: tuple[int, ...]  # per layer, blk.N.*
    output_bytes: int  # output_norm.* + output.* (or a copy of token_embd when tied)
    tied_output: bool
    input_bytes: int  # token_embd and anything else outside blocks and output (stays on CPU)

    @property
    def max_layers(self) -> int:
        """The -ngl value that offloads everything (n_layer blocks + the output layer)."""
        return self.n_layer + 1

    def n_embd_k_gqa(self, layer: int) -> int:
        return self.head_dim_k * self.n_head_kv[layer]

    def n_embd_v_gqa(self, layer: int) -> int:
        return self.head_dim_v * self.n_head_kv[layer]


def _field(fields: dict[str, Any], key: str, default: Any = None) -> Any:
    f = fields.get(key)
    if f is None:
        if default is None:
            raise ModelFileError(f"GGUF metadata has no {key!r}")
        return default
    return f.contents()


def _per_layer(value: Any, n_layer: int, key: str) -> tuple[int, ...]:
    values = [int(v) for v in value] if isinstance(value, list) else [int(value)] * n_layer
    if len(values) != n_layer:
        raise ModelFileError(f"{key} has {len(values)} entries for {n_layer} layers")
    return tuple(values)


def read_model_shape(path: str | Path) -> ModelShape:
    """The planner's view of the GGUF file at `path`; ModelFileError when it cannot be read."""
    from gguf import GGUFReader  # numpy-heavy: imported when a plan is made, not at `invoke --list`

    try:
        reader = GGUFReader(str(path))
    except (OSError, ValueError) as err:
        raise ModelFileError(f"cannot read GGUF {path}: {err}") from err
    fields = reader.fields
    arch = str(_field(fields, "general.architecture"))
    n_layer = int(_field(fields, f"{arch}.block_count"))
    n_embd = int(_field(fields, f"{arch}.embedding_length"))
    n_head = int(_field(fields, f"{arch}.attention.head_count"))
    n_head_kv = _per_layer(_field(fields, f"{arch}.attention.head_count_kv", n_head), n_layer, "head_count_kv")
    head_dim_k = int(_field(fields, f"{arch}.attention.key_length", n_embd // n_head))
    head_dim_v = int(_field(fields, f"{arch}.attention.value_length", head_dim_k))
    n_ff_raw = _field(fields, f"{arch}.feed_forward_length", 0)
    n_ff = max(n_ff_raw) if isinstance(n_ff_raw, list) else int(n_ff_raw)

    blocks = [0] * n_layer
    output = 0
    other = 0
    sizes = {t.name: int(t.n_bytes) for t in reader.tensors}
    for name, n_bytes in sizes.items():
        m = BLOCK.match(name)
        if m:
            il = int(m.group(1))
            if il >= n_layer:
                raise ModelFileError(f"tensor {name} is beyond block_count {n_layer}")
            blocks[il] += n_bytes
        elif name.startswith(("output.", "output_norm.")):
            output += n_bytes
        else:
            other += n_bytes
    if TOKEN_EMBD not in sizes:
        raise ModelFileError(f"GGUF {path} has no {TOKEN_EMBD}")
    tied = OUTPUT not in sizes
    if tied:  # llama.cpp duplicates token_embd as the output matrix (TENSOR_DUPLICATED)
        output += sizes[TOKEN_EMBD]
    embd = next(t for t in reader.tensors if t.name == TOKEN_EMBD)
    n_vocab = int(_field(fields, f"{arch}.vocab_size", int(embd.shape[1])))
    return ModelShape(
        path=str(path),
        arch=arch,
        n_layer=n_layer,
        n_embd=n_embd,
        n_head=n_head,
        n_head_kv=n_head_kv,
        head_dim_k=head_dim_k,
        head_dim_v=head_dim_v,
        n_ff=n_ff,
        n_vocab=n_vocab,
        block_bytes=tuple(blocks),
        output_bytes=output,
        tied_output=tied,
        input_bytes=other,
    )
