"""Test doubles of the stack's HTTP endpoints, served by real HTTP servers on localhost.

Shapes follow the components' own documentation: llama-server `/health` (200 `{"status":"ok"}`,
503 `{"error":{"code":503,"message":"Loading model","type":"unavailable_error"}}` while loading),
`/slots` (a list of slots with `id`, `id_task`, `n_ctx`, `is_processing`, `params`, `next_token`),
`/metrics` (`llamacpp:*` Prometheus text); LiteLLM `/health/liveliness` and `/health`
(`healthy_endpoints` / `unhealthy_endpoints`, bearer auth); Prometheus `/api/v1/targets`.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from infra.spec.model import Platform

Route = Callable[[dict[str, str]], tuple[int, Any]]


class Rendezvous:
    """Holds every GET until `parties` requests are in flight at once (across the servers that
    share it), or `within_s` passes. A client that sends them in parallel releases them all at
    once; one that sends them one by one holds the first until its own timeout: parallelism is
    shown by what happens, whatever the machine's load, not by a stopwatch."""

    def __init__(self, parties: int, within_s: float = 10.0) -> None:
        self.parties = parties
        self.within_s = within_s
        self.peak = 0
        self._now = 0
        self._cond = threading.Condition()

    @contextmanager
    def visit(self) -> Iterator[None]:
        with self._cond:
            self._now += 1
            self.peak = max(self.peak, self._now)
            self._cond.notify_all()
            self._cond.wait_for(lambda: self.peak >= self.parties, timeout=self.within_s)
        try:
            yield
        finally:
            with self._cond:
                self._now -= 1


@dataclass
class FakeServer:
    routes: dict[str, Route]
    delay_s: float = 0.0
    hits: list[str] = field(default_factory=list)
    port: int = 0
    rendezvous: Rendezvous | None = None

    def handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake.hits.append(self.path)
                with fake.rendezvous.visit() if fake.rendezvous else contextlib.nullcontext():
                    time.sleep(fake.delay_s)
                route = fake.routes.get(self.path.split("?")[0])
                status, body = route(dict(self.headers)) if route else (404, {"detail": "Not Found"})
                data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain" if isinstance(body, str) else "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                fake.hits.append(f"POST {self.path}")
                time.sleep(fake.delay_s)
                route = fake.routes.get(f"POST {self.path}")
                status, body = route(dict(self.headers)) if route else (404, {"detail": "Not Found"})
                headers = body.pop("_headers", {}) if isinstance(body, dict) else {}
                data = json.dumps(body).encode()
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler


@contextmanager
def serving(fakes: dict[str, FakeServer]) -> Iterator[dict[str, FakeServer]]:
    servers = []
    for fake in fakes.values():
        srv = ThreadingHTTPServer(("127.0.0.1", 0), fake.handler())
        srv.daemon_threads = True
        fake.port = srv.server_address[1]
        threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        servers.append(srv)
    try:
        yield fakes
    finally:
        for srv in servers:
            srv.shutdown()
            srv.server_close()


@contextmanager
def blackholes(n: int) -> Iterator[list[int]]:
    """Ports whose accept queue is full: connects hang until the client's timeout (a dead host)."""
    socks, fillers, ports = [], [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen(0)
        port = s.getsockname()[1]
        for _ in range(3):
            c = socket.socket()
            c.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                c.connect(("127.0.0.1", port))
            fillers.append(c)
        socks.append(s)
        ports.append(port)
    time.sleep(0.05)
    try:
        yield ports
    finally:
        for c in fillers:
            c.close()
        for s in socks:
            s.close()


def slot(i: int, processing: bool) -> dict[str, Any]:
    return {
        "id": i,
        "id_task": 100 + i if processing else -1,
        "n_ctx": 512,
        "speculative": False,
        "is_processing": processing,
        "params": {"n_predict": -1, "temperature": 0.8, "stream": False},
        "next_token": {"has_next_token": processing, "has_new_line": False, "n_remain": -1, "n_decoded": 3},
    }


def llama(busy: int = 0, slots: int = 2, loading: bool = False, slots_endpoint: bool = True) -> dict[str, Route]:
    def health(_h: dict[str, str]) -> tuple[int, Any]:
        if loading:
            return 503, {"error": {"code": 503, "message": "Loading model", "type": "unavailable_error"}}
        return 200, {"status": "ok"}

    def slots_route(_h: dict[str, str]) -> tuple[int, Any]:
        if not slots_endpoint:
            return 501, {
                "error": {
                    "code": 501,
                    "message": "This server does not support slots endpoint.",
                    "type": "not_supported_error",
                }
            }
        return 200, [slot(i, i < busy) for i in range(slots)]

    def metrics(_h: dict[str, str]) -> tuple[int, Any]:
        return 200, (
            "# HELP llamacpp:requests_processing Number of requests processing.\n"
            "# TYPE llamacpp:requests_processing gauge\n"
            f"llamacpp:requests_processing {busy}\n"
            "# TYPE llamacpp:requests_deferred gauge\nllamacpp:requests_deferred 0\n"
        )

    return {"/health": health, "/slots": slots_route, "/metrics": metrics}


def gateway(key: str, healthy: list[str], unhealthy: list[str], port_of: dict[str, int]) -> dict[str, Route]:
    def endpoint(svc: str) -> dict[str, Any]:
        return {"model": "openai/chat", "api_base": f"http://{svc}:{port_of[svc]}/v1", "order": 1}

    def health(headers: dict[str, str]) -> tuple[int, Any]:
        if headers.get("Authorization") != f"Bearer {key}":
            return 401, {"error": {"message": "Authentication Error", "type": "auth_error", "code": "401"}}
        return 200, {
            "healthy_endpoints": [endpoint(s) for s in healthy],
            "unhealthy_endpoints": [endpoint(s) for s in unhealthy],
            "healthy_count": len(healthy),
            "unhealthy_count": len(unhealthy),
        }

    return {"/health/liveliness": lambda _h: (200, "I'm alive!"), "/health": health}


def prometheus(up: list[str], down: list[str]) -> dict[str, Route]:
    def target(job: str, health: str) -> dict[str, Any]:
        return {
            "discoveredLabels": {"job": job},
            "labels": {"job": job, "service": job, "instance": f"{job}:1"},
            "scrapePool": job,
            "scrapeUrl": f"http://{job}:1/metrics",
            "lastError": "" if health == "up" else "connection refused",
            "health": health,
        }

    body = {
        "status": "success",
        "data": {
            "activeTargets": [target(j, "up") for j in up] + [target(j, "down") for j in down],
            "droppedTargets": [],
        },
    }
    return {"/-/ready": lambda _h: (200, "Prometheus Server is Ready.\n"), "/api/v1/targets": lambda _h: (200, body)}


def on_ports(platform: Platform, ports: dict[str, int], timeout_s: float | None = None) -> Platform:
    """The platform with each service published on the fake's port (and an optional health timeout)."""
    services = {}
    for name, svc in platform.services.items():
        update: dict[str, Any] = {}
        if name in ports:
            update["host_port"] = ports[name]
        if timeout_s is not None:
            update["health"] = svc.health.model_copy(update={"timeout_s": timeout_s})
        services[name] = svc.model_copy(update=update)
    return platform.model_copy(update={"services": services})
