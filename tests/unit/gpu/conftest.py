"""Fixtures of the GPU-layer runbook tests: GGUF files written with the `gguf` package."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.gpu.gguf_files import LLAMA_32_3B, QWEN_25_7B, write_header_only, write_tiny


@pytest.fixture
def tiny_gguf(tmp_path: Path) -> Path:
    return write_tiny(tmp_path / "tiny.gguf")


@pytest.fixture
def llama_3b_gguf(tmp_path: Path) -> Path:
    return write_header_only(tmp_path / "llama-3.2-3b.gguf", LLAMA_32_3B)


@pytest.fixture
def qwen_7b_gguf(tmp_path: Path) -> Path:
    return write_header_only(tmp_path / "qwen2.5-7b.gguf", QWEN_25_7B)
