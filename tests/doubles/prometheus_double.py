"""PrometheusDouble: a TEST DOUBLE of Prometheus' instant-query API (`GET /api/v1/query`).

A real Prometheus needs ~5 s here to start and scrape twice (rates need two samples), too slow
for the unit tier; the live test runs the daily check against the stack's real Prometheus. The
double is a real HTTP server on 127.0.0.1 answering each query string with the samples a test
registered for it (an empty vector otherwise), in Prometheus' answer format
(`{"status":"success","data":{"resultType":"vector","result":[{"metric":…,"value":[ts,"v"]}]}}`),
and `400 bad_data` for queries registered as errors. It records every query it was asked.
Range queries (`/api/v1/query_range`, the reports' plots) answer the series registered with
`series()`, points kept between `start` and `end` (an empty matrix otherwise).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class PrometheusDouble:
    answers: dict[str, list[tuple[dict[str, str], float]]] = field(default_factory=dict)
    errors: set[str] = field(default_factory=set)
    ranges: dict[str, list[tuple[dict[str, str], list[tuple[float, float]]]]] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)
    url: str = ""

    def answer(self, query: str, *samples: tuple[dict[str, str], float]) -> None:
        self.answers[query] = list(samples)

    def series(self, query: str, *series: tuple[dict[str, str], list[tuple[float, float]]]) -> None:
        self.ranges[query] = list(series)

    def _reply_range(self, query: str, start: float, end: float) -> tuple[int, dict[str, Any]]:
        self.asked.append(query)
        if query in self.errors:
            return 400, {"status": "error", "errorType": "bad_data", "error": f"parse error in {query!r}"}
        result = [
            {"metric": labels, "values": [[t, repr(float(v))] for t, v in points if start <= t <= end]}
            for labels, points in self.ranges.get(query, [])
        ]
        return 200, {"status": "success", "data": {"resultType": "matrix", "result": result}}

    def _reply(self, query: str) -> tuple[int, dict[str, Any]]:
        self.asked.append(query)
        if query in self.errors:
            return 400, {"status": "error", "errorType": "bad_data", "error": f"parse error in {query!r}"}
        now = time.time()
        result = [
            {"metric": labels, "value": [now, "NaN" if value != value else repr(float(value))]}
            for labels, value in self.answers.get(query, [])
        ]
        return 200, {"status": "success", "data": {"resultType": "vector", "result": result}}


@contextmanager
def serving(double: PrometheusDouble) -> Iterator[PrometheusDouble]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlsplit(self.path)
            args = {k: v[0] for k, v in parse_qs(url.query).items()}
            if url.path == "/api/v1/query":
                status, body = double._reply(args.get("query", ""))
            elif url.path == "/api/v1/query_range":
                start, end = float(args.get("start", 0)), float(args.get("end", 0))
                status, body = double._reply_range(args.get("query", ""), start, end)
            elif url.path == "/-/ready":
                status, body = 200, {"status": "ready"}
            else:
                status, body = 404, {"status": "error", "error": "not found"}
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    double.url = f"http://127.0.0.1:{srv.server_address[1]}"
    threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    try:
        yield double
    finally:
        srv.shutdown()
        srv.server_close()
