"""alert-sink: a webhook receiver that keeps every notification it gets and lists them.

It stands in for the chat and pager webhooks (Slack, Synology Chat, PagerDuty) a test stack cannot
reach: Alertmanager posts here, tests read `GET /notifications` to see what would have been sent.
Standard library only, so the image needs nothing but python3.

    POST <any path>         store the body with path and time: form fields (a dict, for the
                            form-encoded Synology Chat payload), else JSON when it parses, else text
    GET  /notifications     every stored body as it was posted, oldest first (`?path=/alerts` filters)
    GET  /received          the same with path, content type and arrival time of each
    DELETE /notifications   forget them all (a test's clean start)
    GET  /health            {"status": "ok", "count": n}
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

MAX_BODY = 1 << 20


def decode(body: bytes, content_type: str) -> Any:
    """A form body as {field: value} (the last value of a repeated field), JSON as parsed, else text."""
    if content_type.split(";")[0].strip().lower() == "application/x-www-form-urlencoded":
        return {k: v[-1] for k, v in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()}
    try:
        return json.loads(body) if body else None
    except ValueError:
        return body.decode("utf-8", "replace")


class Store:
    """Notifications in arrival order, safe to use from the server's threads."""

    def __init__(self) -> None:
        self._items: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def add(self, path: str, body: bytes, content_type: str) -> int:
        item = {
            "received_at": time.time(),
            "path": path,
            "content_type": content_type,
            "body": decode(body, content_type),
        }
        with self._lock:
            self._items.append(item)
            return len(self._items)

    def list(self, path: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [i for i in self._items if path is None or i["path"] == path]

    def clear(self) -> int:
        with self._lock:
            count = len(self._items)
            self._items.clear()
            return count


def make_handler(store: Store) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "alert-sink/1"

        def _send(self, status: int, data: Any) -> None:
            raw = json.dumps(data).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            if url.path == "/health":
                self._send(200, {"status": "ok", "count": len(store.list())})
            elif url.path in ("/notifications", "/received"):
                items = store.list(parse_qs(url.query).get("path", [None])[0])
                self._send(200, [i["body"] for i in items] if url.path == "/notifications" else items)
            else:
                self._send(404, {"error": f"no such resource {url.path}; try /notifications, /received or /health"})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self._send(413, {"error": f"body over {MAX_BODY} bytes"})
                return
            body = self.rfile.read(length)
            count = store.add(urlsplit(self.path).path, body, self.headers.get("Content-Type", ""))
            self._send(200, {"stored": count})

        def do_DELETE(self) -> None:
            if urlsplit(self.path).path != "/notifications":
                self._send(404, {"error": "only /notifications can be cleared"})
                return
            self._send(200, {"cleared": store.clear()})

        def log_message(self, format: str, *args: Any) -> None:
            print(f"{self.address_string()} {format % args}", flush=True)

    return Handler


def serve(host: str, port: int) -> ThreadingHTTPServer:
    """A server bound to host:port (port 0 picks a free one); call serve_forever() to run it."""
    return ThreadingHTTPServer((host, port), make_handler(Store()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=9099)
    args = parser.parse_args()
    server = serve(args.host, args.port)
    print(f"alert-sink listening on {args.host}:{args.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
