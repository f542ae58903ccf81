"""The tiny GGUF: a real llama-architecture file, read back with the gguf package's own reader."""

from __future__ import annotations

from pathlib import Path

import gguf
import pytest

from infra.images import tiny_model


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_model.write_tiny_model(tmp_path_factory.mktemp("m") / "tiny.gguf")


def _value(reader: gguf.GGUFReader, key: str) -> object:
    return reader.fields[key].contents()


def test_header_describes_a_two_layer_64_dim_llama(model: Path) -> None:
    reader = gguf.GGUFReader(model)
    assert _value(reader, "general.architecture") == "llama"
    assert _value(reader, "llama.block_count") == 2
    assert _value(reader, "llama.embedding_length") == 64
    assert len(reader.tensors) == 3 + 9 * 2


def test_vocabulary_has_byte_fallback_and_chatml(model: Path) -> None:
    reader = gguf.GGUFReader(model)
    tokens = _value(reader, "tokenizer.ggml.tokens")
    assert isinstance(tokens, list) and 256 < len(tokens) < 1000
    assert all(f"<0x{b:02X}>" in tokens for b in range(256))
    assert "<|im_start|>" in _value(reader, "tokenizer.chat_template")
    assert tokens[_value(reader, "tokenizer.ggml.eos_token_id")] == "<|im_end|>"


def test_small_and_deterministic(model: Path, tmp_path: Path) -> None:
    again = tiny_model.write_tiny_model(tmp_path / "again.gguf")
    assert model.read_bytes() == again.read_bytes()
    assert 100_000 < model.stat().st_size < 1_000_000
    other = tiny_model.write_tiny_model(tmp_path / "other.gguf", seed=1)
    assert other.read_bytes() != model.read_bytes()
