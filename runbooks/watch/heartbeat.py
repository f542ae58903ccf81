"""The dead-man's switch: every cycle rewrites a heartbeat Prometheus reads, and the WatchStopped
rule (infra/observability/rules.py) fires when it goes stale, so a dead watch is not silent.

The heartbeat is Prometheus text: `inferops_watch_last_cycle_timestamp_seconds` (when the last
cycle finished), `inferops_watch_interval_seconds` (how often cycles should come), plus issue and
outbox gauges. It is written atomically to the state dir and, when configured, to a node-exporter
textfile-collector path; the `--interval` loop also serves it at `/metrics` (`metrics_port`).
"""

from __future__ import annotations

import os
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from runbooks.watch.store import StateFile

__all__ = ["METRIC", "render", "serve", "write"]

METRIC = "inferops_watch_last_cycle_timestamp_seconds"


def render(stack: str, state: StateFile, interval_s: float) -> str:
    lab = f'stack="{stack}"'
    alerted = sum(1 for e in state.entries.values() if e.alerted)
    failing = sum(1 for e in state.entries.values() if e.fails > 0)
    muted = sum(1 for e in state.entries.values() if e.muted_by)
    lines = [
        f"# HELP {METRIC} Unix time the last watch cycle finished (WatchStopped fires when stale).",
        f"# TYPE {METRIC} gauge",
        f"{METRIC}{{{lab}}} {state.last_cycle_at or 0:.3f}",
        "# TYPE inferops_watch_interval_seconds gauge",
        f"inferops_watch_interval_seconds{{{lab}}} {interval_s:g}",
        "# TYPE inferops_watch_cycles_total counter",
        f"inferops_watch_cycles_total{{{lab}}} {state.cycles}",
        "# TYPE inferops_watch_issues gauge",
        f'inferops_watch_issues{{{lab},state="failing"}} {failing}',
        f'inferops_watch_issues{{{lab},state="alerted"}} {alerted}',
        f'inferops_watch_issues{{{lab},state="muted"}} {muted}',
        "# TYPE inferops_watch_outbox_pending gauge",
        f"inferops_watch_outbox_pending{{{lab}}} {len(state.outbox)}",
        "# TYPE inferops_watch_failed_deliveries_total counter",
        f"inferops_watch_failed_deliveries_total{{{lab}}} {state.failed_deliveries_total}",
    ]
    return "\n".join(lines) + "\n"


def _atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".heartbeat-", suffix=".tmp")
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.chmod(tmp, 0o644)  # node-exporter reads it as another user
    os.replace(tmp, path)


def write(directory: Path, text: str, textfile: str | None) -> list[Path]:
    paths = [directory / "heartbeat.prom", *([Path(textfile)] if textfile else [])]
    for p in paths:
        _atomic(p, text)
    return paths


def serve(path: Path, port: int, host: str = "0.0.0.0") -> ThreadingHTTPServer:
    """`GET /metrics` answers the latest heartbeat file (a thread; the loop keeps running cycles)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.split("?")[0] not in ("/metrics", "/health"):
                self.send_error(404)
                return
            body = path.read_bytes() if path.exists() else b""
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer((host, port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
