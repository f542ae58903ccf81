"""Real HTTP(S) servers on 127.0.0.1 for the watch's tests: the project's alert sink (images/alert-sink)
served plain or behind TLS with a throwaway CA (trustme), and a gateway that never answers."""

from __future__ import annotations

import importlib.util
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import trustme

ROOT = Path(__file__).resolve().parents[3]


def alert_sink_module() -> ModuleType:
    path = ROOT / "images" / "alert-sink" / "alert_sink.py"
    spec = importlib.util.spec_from_file_location("watch_test_alert_sink", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextmanager
def sink(tls: trustme.CA | None = None, port: int = 0) -> Iterator[Any]:
    """The alert sink on 127.0.0.1 (optionally HTTPS with a cert for 127.0.0.1 from `tls`); yields
    (base_url, store) where store.list() is every POST it took."""
    mod = alert_sink_module()
    store = mod.Store()
    server = mod.ThreadingHTTPServer(("127.0.0.1", port), mod.make_handler(store))
    server.daemon_threads = True
    scheme = "http"
    if tls is not None:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.issue_cert("127.0.0.1").configure_cert(ctx)
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
        scheme = "https"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"{scheme}://127.0.0.1:{server.server_address[1]}", store
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def silent_server() -> Iterator[str]:
    """Accepts connections and never answers (a hung gateway); yields its base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        sock.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
                held.append(conn)
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(2)
        for c in held:
            c.close()
        sock.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


OFF = ("qdrant", "rag", "grafana", "node-exporter", "dcgm-exporter", "cadvisor")


def watch_platform(watch: dict | None = None, **extra: object):
    """The default service table, CPU only, with a `watch` section (and other keys) given."""
    from infra.spec import platform_from_config

    raw = {
        "target": "compose",
        "gpuHost": False,
        "services": {
            **{n: {"gpus": 0} for n in ("inference-chat", "inference-code", "embedding")},
            **{
                n: {"enabled": False}
                for n in ("qdrant", "rag", "grafana", "node-exporter", "dcgm-exporter", "cadvisor")
            },
        },
        "watch": watch or {},
    }
    extra_services = extra.pop("services", {})
    raw["services"] = {**raw["services"], **extra_services}  # type: ignore[dict-item]
    raw.update(extra)
    return platform_from_config("unit", raw, source="tests/unit/watch/servers.py")
