"""synology-relay: Alertmanager webhook JSON in, one Synology Chat message out.

Synology Chat's incoming webhook wants a form-encoded body whose field `payload` holds JSON
`{"text": ...}` (seed 000); Alertmanager can only post JSON, so this relay sits between them.
The incoming-webhook URL carries its token in the query string: it comes from the environment
(`SYNOLOGY_WEBHOOK_URL`, filled from the Pulumi secret `alertSynologyWebhookUrl`) and is never
logged. TLS verification stays on (unlike seed 000's `verify=False`). A failed delivery is
retried a few times here and then answered with 502, so Alertmanager retries it as well.

    POST <any path>   Alertmanager webhook (version 4) -> 200 when Synology accepted the message,
                      400 when the body is not an Alertmanager notification, 502 when delivery failed
    GET  /health      {"status": "ok"}

Standard library plus tenacity (Debian's python3-tenacity in the image).
"""

from __future__ import annotations

import argparse
import json
import os
import ssl
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlencode, urlsplit

from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

URL_ENV = "SYNOLOGY_WEBHOOK_URL"
MAX_BODY = 1 << 20
# Labels that say where an alert is, in the order they are shown (rules.py sets these).
LOCATING_LABELS = ("service", "instance", "host", "name", "gpu", "Hostname", "mountpoint", "namespace", "pod")
MAX_TEXT = 4000  # keep a storm of alerts to one readable message


class DeliveryError(Exception):
    """Synology did not accept the message (network, TLS, HTTP or API error); safe to retry."""


@dataclass(frozen=True)
class Upstream:
    """Where and how to deliver: the secret URL, a per-attempt timeout and a bounded retry."""

    url: str
    timeout_s: float = 10.0
    attempts: int = 3
    wait_s: float = 1.0

    def __post_init__(self) -> None:
        if urlsplit(self.url).scheme not in ("https", "http"):
            # The URL is a secret: name the variable, never echo the value.
            raise ValueError(f"{URL_ENV} must be an http(s) URL (the Synology Chat incoming-webhook URL)")
        if self.attempts < 1 or self.timeout_s <= 0 or self.wait_s < 0:
            raise ValueError("attempts must be >= 1, timeout_s > 0, wait_s >= 0")


def _alert_line(alert: Mapping[str, Any]) -> str:
    labels = alert.get("labels") or {}
    notes = alert.get("annotations") or {}
    where = ", ".join(f"{k}={labels[k]}" for k in LOCATING_LABELS if labels.get(k))
    line = f"- {notes.get('summary') or labels.get('alertname', 'alert')}"
    if where:
        line += f" [{where}]"
    if notes.get("runbook_url"):
        line += f"\n  runbook: {notes['runbook_url']}"
    return line


def render(notification: Mapping[str, Any]) -> str:
    """One chat message for one Alertmanager notification (a group of alerts).

    The header carries status, alert name and severity (the route's group_by), then one line
    per alert with its summary, the labels that locate it and its runbook URL.
    """
    alerts = notification.get("alerts")
    if not isinstance(alerts, list) or not alerts:
        raise ValueError("not an Alertmanager notification: no `alerts` list")
    common = notification.get("commonLabels") or {}
    first = alerts[0].get("labels") or {}
    status = str(notification.get("status") or alerts[0].get("status") or "firing")
    name = common.get("alertname") or first.get("alertname", "alert")
    severity = common.get("severity") or first.get("severity", "unknown")
    firing = sum(1 for a in alerts if a.get("status", status) == "firing")
    count = f"{firing} firing" if status == "firing" else f"{len(alerts)} resolved"
    head = f"[{status.upper()}] {name} ({severity}) - {count}"
    text = "\n".join([head, *(_alert_line(a) for a in alerts)])
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 20] + "\n... (truncated)"


def form_body(text: str) -> bytes:
    """The body Synology Chat reads: `payload=<url-encoded JSON {"text": ...}>` (seed 000)."""
    return urlencode({"payload": json.dumps({"text": text}, ensure_ascii=False)}).encode()


def _post_once(upstream: Upstream, body: bytes, context: ssl.SSLContext) -> None:
    request = urllib.request.Request(
        upstream.url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    try:
        with urllib.request.urlopen(request, timeout=upstream.timeout_s, context=context) as response:
            raw = response.read(MAX_BODY)
    except urllib.error.HTTPError as err:
        raise DeliveryError(f"HTTP {err.code}") from None
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        raise DeliveryError(f"{type(reason).__name__}: {reason}") from None
    # Synology Chat answers HTTP 200 with {"success": false, "error": {...}} on API errors
    # (bad token, posting too fast): that is a failed delivery too.
    try:
        answer = json.loads(raw) if raw else {}
    except ValueError:
        return
    if isinstance(answer, dict) and answer.get("success") is False:
        raise DeliveryError(f"Synology refused the message: {answer.get('error')}")


def deliver(upstream: Upstream, text: str, context: ssl.SSLContext | None = None) -> int:
    """POST the message; retried on failure. Returns the attempts used, raises DeliveryError."""
    context = context or ssl.create_default_context()  # verifies certificate and host name
    body = form_body(text)
    retrying = Retrying(
        stop=stop_after_attempt(upstream.attempts),
        wait=wait_exponential(multiplier=upstream.wait_s, max=upstream.wait_s * 8),
        retry=retry_if_exception_type(DeliveryError),
        reraise=True,
    )
    for attempt in retrying:
        with attempt:
            _post_once(upstream, body, context)
    return retrying.statistics.get("attempt_number", 1)


def make_handler(upstream: Upstream, context: ssl.SSLContext | None = None) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "synology-relay/1"

        def _send(self, status: int, data: Any) -> None:
            raw = json.dumps(data).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_GET(self) -> None:
            if urlsplit(self.path).path == "/health":
                self._send(200, {"status": "ok"})
            else:
                self._send(404, {"error": "POST an Alertmanager notification to any path; GET /health"})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self._send(413, {"error": f"body over {MAX_BODY} bytes"})
                return
            try:
                text = render(json.loads(self.rfile.read(length) or b"null") or {})
            except (ValueError, AttributeError, TypeError) as err:
                self._send(400, {"error": str(err)})
                return
            try:
                attempts = deliver(upstream, text, context)
            except DeliveryError as err:
                # 5xx: Alertmanager keeps the notification and retries it.
                self._send(
                    502, {"error": f"delivery to Synology Chat failed after {upstream.attempts} attempts: {err}"}
                )
                return
            self._send(200, {"delivered": True, "attempts": attempts})

        def log_message(self, format: str, *args: Any) -> None:
            # Only our own address and path: the upstream URL (with its token) is never logged.
            print(f"{self.address_string()} {format % args}", flush=True)

    return Handler


def serve(host: str, port: int, upstream: Upstream, context: ssl.SSLContext | None = None) -> ThreadingHTTPServer:
    """A server bound to host:port (port 0 picks a free one); call serve_forever() to run it."""
    return ThreadingHTTPServer((host, port), make_handler(upstream, context))


def upstream_from_env(env: Mapping[str, str]) -> Upstream:
    url = env.get(URL_ENV, "")
    if not url:
        raise ValueError(f"{URL_ENV} is not set: the programs fill it from the secret alertSynologyWebhookUrl")
    return Upstream(
        url=url,
        timeout_s=float(env.get("RELAY_TIMEOUT_S", "10")),
        attempts=int(env.get("RELAY_ATTEMPTS", "3")),
        wait_s=float(env.get("RELAY_RETRY_WAIT_S", "1")),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=9097)
    args = parser.parse_args()
    try:
        upstream = upstream_from_env(os.environ)
    except ValueError as err:
        sys.exit(f"synology-relay: {err}")
    server = serve(args.host, args.port, upstream)
    print(f"synology-relay listening on {args.host}:{args.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
