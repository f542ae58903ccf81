"""The Synology Chat relay: rendering, the form body a real HTTP server receives, and failures.

The upstream is the real alert-sink server (which stores form bodies) on a free port; failing
upstreams are small local doubles (an HTTP 500 server, a Synology-style API error, a self-signed
TLS server, a closed port), since the real Synology NAS cannot be reached from here.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import ssl
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from infra.images.catalog import IMAGES

TOKEN = "tok-SECRET-123"


def _load(image: str, filename: str) -> ModuleType:
    path = IMAGES[image].context_dir / filename
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


relay_mod = _load("synology-relay", "synology_relay.py")
sink_mod = _load("alert-sink", "alert_sink.py")


def _notification(status: str = "firing") -> dict[str, Any]:
    """An Alertmanager webhook (version 4) as the local stack's rules produce it."""
    base = "https://github.com/inferops/inferops/blob/main/docs/alerts"

    def alert(service: str, port: int) -> dict[str, Any]:
        return {
            "status": status,
            "labels": {
                "alertname": "InferenceBackendDown",
                "severity": "critical",
                "service": service,
                "instance": f"{service}:{port}",
                "host": "gpu-1",
                "job": service,
            },
            "annotations": {
                "summary": "Inference backend down while the gateway fails over",
                "description": f"{service} does not answer.",
                "runbook_url": f"{base}/InferenceBackendDown.md",
            },
        }

    return {
        "version": "4",
        "status": status,
        "receiver": "nas",
        "groupLabels": {"alertname": "InferenceBackendDown", "severity": "critical"},
        "commonLabels": {"alertname": "InferenceBackendDown", "severity": "critical", "host": "gpu-1"},
        "commonAnnotations": {},
        "alerts": [alert("inference-chat", 8001), alert("inference-code", 8004)],
    }


def _start(server: ThreadingHTTPServer) -> str:
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return f"127.0.0.1:{server.server_address[1]}"


@pytest.fixture
def servers() -> Iterator[Callable[[ThreadingHTTPServer], str]]:
    started: list[ThreadingHTTPServer] = []

    def start(server: ThreadingHTTPServer) -> str:
        started.append(server)
        return _start(server)

    yield start
    for server in started:
        server.shutdown()
        server.server_close()


def _relay(start: Callable[[ThreadingHTTPServer], str], url: str, **kw: Any) -> str:
    context = kw.pop("context", None)
    upstream = relay_mod.Upstream(url=url, timeout_s=2.0, wait_s=0, **kw)
    return "http://" + start(relay_mod.serve("127.0.0.1", 0, upstream, context))


class _Failing(BaseHTTPRequestHandler):
    """Test double of a broken upstream: counts requests, answers `status` with `body`."""

    hits = 0
    status = 500
    body = b"{}"

    def do_POST(self) -> None:
        type(self).hits += 1
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(self.status)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: Any) -> None:
        pass


def _failing(status: int, body: bytes) -> type[_Failing]:
    return type("Failing", (_Failing,), {"hits": 0, "status": status, "body": body})


# --- rendering ------------------------------------------------------------------------------


def test_render_names_status_alert_severity_location_and_runbook() -> None:
    text = relay_mod.render(_notification())
    head, *lines = text.splitlines()
    assert head == "[FIRING] InferenceBackendDown (critical) - 2 firing"
    assert "- Inference backend down while the gateway fails over" in lines[0]
    assert "[service=inference-chat, instance=inference-chat:8001, host=gpu-1]" in lines[0]
    assert lines[1] == "  runbook: https://github.com/inferops/inferops/blob/main/docs/alerts/InferenceBackendDown.md"
    assert "service=inference-code, instance=inference-code:8004" in lines[2]
    assert "job=" not in text, "only the labels that locate an alert are shown"


def test_render_resolved() -> None:
    assert relay_mod.render(_notification("resolved")).startswith(
        "[RESOLVED] InferenceBackendDown (critical) - 2 resolved"
    )


@pytest.mark.parametrize("body", [{}, {"alerts": []}, {"alerts": "x"}])
def test_render_refuses_what_is_not_a_notification(body: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="alerts"):
        relay_mod.render(body)


def test_form_body_is_the_seed_format() -> None:
    """Seed 000: form field `payload` holding JSON {"text": ...}, non-ASCII kept as is."""
    from urllib.parse import parse_qs

    fields = parse_qs(relay_mod.form_body("GPU 컨테이너 재시작 중 & more").decode())
    assert list(fields) == ["payload"]
    assert json.loads(fields["payload"][0]) == {"text": "GPU 컨테이너 재시작 중 & more"}
    assert "컨테이너" in fields["payload"][0]  # ensure_ascii=False, like the seed


# --- delivery through real HTTP ---------------------------------------------------------------


def test_relay_posts_the_form_body_to_the_upstream(servers: Callable[[ThreadingHTTPServer], str]) -> None:
    sink = "http://" + servers(sink_mod.serve("127.0.0.1", 0))
    relay = _relay(servers, f"{sink}/webapi/entry.cgi?api=SYNO.Chat.External&token={TOKEN}", attempts=1)
    notification = _notification()

    answer = httpx.post(f"{relay}/alerts", json=notification, timeout=10)

    assert answer.status_code == 200 and answer.json() == {"delivered": True, "attempts": 1}
    [received] = httpx.get(f"{sink}/received").json()
    assert received["path"] == "/webapi/entry.cgi"
    assert received["content_type"].startswith("application/x-www-form-urlencoded")
    assert json.loads(received["body"]["payload"]) == {"text": relay_mod.render(notification)}


def test_upstream_5xx_is_retried_then_answered_with_502(servers: Callable[[ThreadingHTTPServer], str]) -> None:
    handler = _failing(500, b"boom")
    upstream = "http://" + servers(ThreadingHTTPServer(("127.0.0.1", 0), handler))
    relay = _relay(servers, f"{upstream}/x?token={TOKEN}", attempts=3)

    answer = httpx.post(f"{relay}/alerts", json=_notification(), timeout=10)

    assert answer.status_code == 502, "a 5xx makes Alertmanager retry the notification"
    assert handler.hits == 3
    assert "HTTP 500" in answer.json()["error"] and TOKEN not in answer.text


def test_synology_api_error_in_a_200_is_a_failure(servers: Callable[[ThreadingHTTPServer], str]) -> None:
    handler = _failing(200, b'{"error": {"code": 117, "errors": "create post too fast"}, "success": false}')
    upstream = "http://" + servers(ThreadingHTTPServer(("127.0.0.1", 0), handler))
    relay = _relay(servers, f"{upstream}/x", attempts=2)

    answer = httpx.post(f"{relay}/alerts", json=_notification(), timeout=10)

    assert answer.status_code == 502 and handler.hits == 2
    assert "117" in answer.json()["error"]


def test_unreachable_upstream_is_502_and_the_url_is_not_logged(
    servers: Callable[[ThreadingHTTPServer], str], capsys: pytest.CaptureFixture[str]
) -> None:
    closed = ThreadingHTTPServer(("127.0.0.1", 0), _Failing)
    port = closed.server_address[1]
    closed.server_close()  # nothing listens there now
    relay = _relay(servers, f"http://127.0.0.1:{port}/x?token={TOKEN}", attempts=2)

    answer = httpx.post(f"{relay}/alerts", json=_notification(), timeout=10)

    assert answer.status_code == 502 and "Connection" in answer.json()["error"]
    assert TOKEN not in answer.text + capsys.readouterr().out


def test_not_a_notification_is_400_and_not_sent(servers: Callable[[ThreadingHTTPServer], str]) -> None:
    sink = "http://" + servers(sink_mod.serve("127.0.0.1", 0))
    relay = _relay(servers, f"{sink}/x", attempts=1)
    assert httpx.post(f"{relay}/alerts", content=b"not json", timeout=10).status_code == 400
    assert httpx.get(f"{sink}/notifications").json() == []
    assert httpx.get(f"{relay}/health").json() == {"status": "ok"}


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command to make a test certificate")
def test_tls_verification_refuses_a_self_signed_upstream(
    servers: Callable[[ThreadingHTTPServer], str], tmp_path: Path
) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    handler = _failing(200, b"{}")
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    server.socket = tls.wrap_socket(server.socket, server_side=True)
    upstream = "https://" + servers(server)

    refused = _relay(servers, f"{upstream}/x", attempts=1)
    answer = httpx.post(f"{refused}/alerts", json=_notification(), timeout=10)
    assert answer.status_code == 502 and "CERTIFICATE_VERIFY_FAILED" in answer.json()["error"]
    assert handler.hits == 0

    # The same server is accepted once its certificate is trusted: verification, not breakage.
    trusting = _relay(servers, f"{upstream}/x", attempts=1, context=ssl.create_default_context(cafile=cert))
    assert httpx.post(f"{trusting}/alerts", json=_notification(), timeout=10).status_code == 200
    assert handler.hits == 1


def test_settings_come_from_the_environment_without_echoing_the_url() -> None:
    with pytest.raises(ValueError, match="SYNOLOGY_WEBHOOK_URL is not set"):
        relay_mod.upstream_from_env({})
    with pytest.raises(ValueError) as err:
        relay_mod.upstream_from_env({"SYNOLOGY_WEBHOOK_URL": f"ftp://nas/{TOKEN}"})
    assert TOKEN not in str(err.value)
    up = relay_mod.upstream_from_env({"SYNOLOGY_WEBHOOK_URL": "https://nas:5001/x", "RELAY_ATTEMPTS": "5"})
    assert (up.attempts, up.timeout_s) == (5, 10.0)
