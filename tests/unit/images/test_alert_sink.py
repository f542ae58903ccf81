"""The alert sink's HTTP contract, against the real server on a free port."""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Iterator
from types import ModuleType

import httpx
import pytest

from infra.images.catalog import IMAGES


def _module() -> ModuleType:
    path = IMAGES["alert-sink"].context_dir / "alert_sink.py"
    spec = importlib.util.spec_from_file_location("alert_sink", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def sink() -> Iterator[str]:
    server = _module().serve("127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_stores_and_lists_notifications_in_order(sink: str) -> None:
    first = {"status": "firing", "alerts": [{"labels": {"alertname": "A"}}]}
    assert httpx.post(f"{sink}/alerts", json=first).json() == {"stored": 1}
    httpx.post(f"{sink}/other", content=b"plain text", headers={"Content-Type": "text/plain"})
    assert httpx.get(f"{sink}/notifications").json() == [first, "plain text"]
    assert httpx.get(f"{sink}/notifications", params={"path": "/alerts"}).json() == [first]
    received = httpx.get(f"{sink}/received").json()
    assert [r["path"] for r in received] == ["/alerts", "/other"]
    assert received[1]["content_type"] == "text/plain"


def test_health_counts_and_delete_clears(sink: str) -> None:
    httpx.post(f"{sink}/alerts", json={"n": 1})
    assert httpx.get(f"{sink}/health").json() == {"status": "ok", "count": 1}
    assert httpx.delete(f"{sink}/notifications").json() == {"cleared": 1}
    assert httpx.get(f"{sink}/notifications").json() == []


def test_unknown_get_is_404(sink: str) -> None:
    response = httpx.get(f"{sink}/nope")
    assert response.status_code == 404
    assert "/notifications" in response.json()["error"]


def test_form_bodies_are_stored_as_fields(sink: str) -> None:
    """The Synology Chat relay posts `payload=<json>` form-encoded; the sink keeps the fields."""
    httpx.post(f"{sink}/chat", data={"payload": '{"text": "a & b"}'})
    [received] = httpx.get(f"{sink}/received").json()
    assert received["content_type"] == "application/x-www-form-urlencoded"
    assert received["body"] == {"payload": '{"text": "a & b"}'}
