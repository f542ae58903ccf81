"""The HTTP side every test double shares: a threaded werkzeug server on loopback."""

from __future__ import annotations

import socket
import threading
from typing import Any, Self

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server


def free_port() -> int:
    """A loopback port nothing listens on (for a server to take, or as a stopped service)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        """Request lines would drown test output."""


class LoopbackServer:
    """Serves `self._wsgi` on 127.0.0.1: a random port the first time, the same port after
    `stop()`, so a stopped double looks like a server that is down (connection refused)."""

    thread_name = "test-double"

    def __init__(self) -> None:
        self.port = 0
        self._server: BaseWSGIServer | None = None

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        raise NotImplementedError

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Self:
        self._server = make_server("127.0.0.1", self.port, self._wsgi, threaded=True, request_handler=QuietHandler)
        self.port = self._server.server_port
        threading.Thread(target=self._server.serve_forever, args=(0.02,), name=self.thread_name, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
