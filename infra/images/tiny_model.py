"""A tiny random-weight llama GGUF for the local stack, written with the `gguf` package.

Real llama-server processes load it in well under a second on a CPU, so every test that needs
a model server runs against the real one. The weights are random: output text is gibberish,
tests check structure (fields, token counts with `ignore_eos`), never text. The vocabulary is a
SentencePiece-style one with all 256 byte tokens, so any input tokenizes (byte fallback), plus
the ChatML control tokens its chat template uses.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

ARCH = "llama"
N_LAYERS = 2
N_EMBD = 64
N_HEAD = 4
N_FF = 128
N_CTX = 2048
SEED = 20240611
CONTROL = ("<unk>", "<s>", "</s>", "<|im_start|>", "<|im_end|>")
# Common pieces so short English words cost fewer tokens than raw bytes.
PIECES = (
    *"abcdefghijklmnopqrstuvwxyz",
    "the", "and", "ing", "ion", "er", "re", "on", "at", "en", "es", "or", "te", "is", "it", "to", "of", "in",
    "hello", "world", "model", "token", "chat", "code", "def", "return", "print", "import", "class",
)  # fmt: skip
CHATML = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def vocabulary() -> tuple[list[str], list[float], list[int]]:
    """Tokens, scores and token types (gguf.TokenType values) of the tiny tokenizer."""
    from gguf import TokenType

    tokens = list(CONTROL)
    types = [TokenType.UNKNOWN] + [TokenType.CONTROL] * (len(CONTROL) - 1)
    tokens += [f"<0x{b:02X}>" for b in range(256)]
    types += [TokenType.BYTE] * 256
    words = ["▁"] + [p for piece in PIECES for p in (piece, "▁" + piece)]
    tokens += words
    types += [TokenType.NORMAL] * len(words)
    # SentencePiece merges prefer higher scores: longer pieces first.
    scores = [0.0] * (len(CONTROL) + 256) + [float(len(w)) - 100.0 for w in words]
    return tokens, scores, [int(t) for t in types]


def write_tiny_model(path: Path, seed: int = SEED) -> Path:
    """Write the model to `path` (deterministic for a given seed) and return the path."""
    import gguf

    tokens, scores, types = vocabulary()
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = gguf.GGUFWriter(str(path), ARCH)
    writer.add_name("inferops-tiny")
    writer.add_context_length(N_CTX)
    writer.add_embedding_length(N_EMBD)
    writer.add_block_count(N_LAYERS)
    writer.add_feed_forward_length(N_FF)
    writer.add_head_count(N_HEAD)
    writer.add_head_count_kv(N_HEAD)
    writer.add_rope_dimension_count(N_EMBD // N_HEAD)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    writer.add_tokenizer_model("llama")
    writer.add_token_list(tokens)
    writer.add_token_scores(scores)
    writer.add_token_types(types)
    writer.add_bos_token_id(tokens.index("<s>"))
    writer.add_eos_token_id(tokens.index("<|im_end|>"))
    writer.add_unk_token_id(tokens.index("<unk>"))
    writer.add_add_bos_token(False)
    writer.add_chat_template(CHATML)
    for name, shape in _tensor_shapes(len(tokens)):
        data = np.ones(shape, np.float32) if name.endswith("norm.weight") else rng.normal(0, 0.02, shape)
        writer.add_tensor(name, data.astype(np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def _tensor_shapes(n_vocab: int) -> list[tuple[str, tuple[int, ...]]]:
    """numpy shapes (rows, cols): gguf stores them reversed, as ggml's (ne0, ne1)."""
    shapes: list[tuple[str, tuple[int, ...]]] = [
        ("token_embd.weight", (n_vocab, N_EMBD)),
        ("output_norm.weight", (N_EMBD,)),
        ("output.weight", (n_vocab, N_EMBD)),
    ]
    for i in range(N_LAYERS):
        blk = f"blk.{i}"
        shapes += [
            (f"{blk}.attn_norm.weight", (N_EMBD,)),
            (f"{blk}.attn_q.weight", (N_EMBD, N_EMBD)),
            (f"{blk}.attn_k.weight", (N_EMBD, N_EMBD)),
            (f"{blk}.attn_v.weight", (N_EMBD, N_EMBD)),
            (f"{blk}.attn_output.weight", (N_EMBD, N_EMBD)),
            (f"{blk}.ffn_norm.weight", (N_EMBD,)),
            (f"{blk}.ffn_gate.weight", (N_FF, N_EMBD)),
            (f"{blk}.ffn_up.weight", (N_FF, N_EMBD)),
            (f"{blk}.ffn_down.weight", (N_EMBD, N_FF)),
        ]
    return shapes
