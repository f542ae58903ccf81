"""A real Alertmanager process on loopback for the unit tier (the pinned build, infra.monitoring).

It routes everything to a receiver that sends nothing: the tests read its API v2 (silences,
alerts), which is all a runbook's scoped silence talks to.
"""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.support.waiting import wait_until

__all__ = ["running_alertmanager"]

CONFIG = 'route:\n  receiver: "null"\nreceivers:\n  - name: "null"\n'


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/-/ready", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@contextmanager
def running_alertmanager(binary: str, workdir: Path) -> Iterator[tuple[str, int]]:
    """(base URL, port) of an Alertmanager started for the test; stopped after it."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "alertmanager.yml").write_text(CONFIG)
    port = _free_port()
    argv = [binary, f"--config.file={workdir / 'alertmanager.yml'}", f"--storage.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="]  # fmt: skip
    with open(workdir / "alertmanager.log", "w") as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _ready(url) or proc.poll() is not None, 30, "Alertmanager ready")
        assert proc.poll() is None, (workdir / "alertmanager.log").read_text()[-2000:]
        yield url, port
    finally:
        proc.terminate()
        proc.wait(timeout=10)
