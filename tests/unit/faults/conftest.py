"""The llama-server double and the fault proxy as a real process on loopback, for this folder."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.doubles.llama_double import LlamaDouble

CHAT = {"model": "double", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 8}


@pytest.fixture(scope="module")
def llama() -> Iterator[LlamaDouble]:
    with LlamaDouble() as double:
        yield double


def _free_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as s:
        return int(s.getsockname()[1])


class Proxy:
    def __init__(self, tmp_path: Path, upstream: str, *args: str) -> None:
        self.port = _free_port()
        self.stats = tmp_path / "stats.json"
        argv = ["--listen", f"127.0.0.1:{self.port}", "--upstream", upstream, "--stats", str(self.stats), *args]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "runbooks.faults.proxy", *argv],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert self.proc.stdout is not None and self.proc.stdout.readline().strip() == "ready"
        self.url = f"http://127.0.0.1:{self.port}"

    def end(self) -> dict[str, int]:
        self.proc.terminate()
        assert self.proc.wait(timeout=20) == 0
        return json.loads(self.stats.read_text())


@pytest.fixture
def proxy(tmp_path: Path, llama: LlamaDouble) -> Iterator[Callable[..., Proxy]]:
    started: list[Proxy] = []

    def start(mode: str, *args: str) -> Proxy:
        started.append(Proxy(tmp_path, llama.url, "--mode", mode, *args))
        return started[-1]

    yield start
    for p in started:
        if p.proc.poll() is None:
            p.proc.kill()
            p.proc.wait()
