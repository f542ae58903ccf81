"""The fault proxy as a real process on loopback, in front of the llama-server double: each mode
as a client sees it, the counts it reports, and that it ends by itself (expiry, parent gone)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest

from runbooks.faults.modes import Fault
from runbooks.faults.proxy import LOADING, FaultProxy
from tests.doubles.llama_double import LlamaDouble
from tests.unit.faults.conftest import CHAT


def _stream(url: str) -> list[str]:
    """The SSE lines of a streamed chat answer (raises what httpx raises on a cut body)."""
    with httpx.stream("POST", f"{url}/v1/chat/completions", json={**CHAT, "stream": True}, timeout=10) as resp:
        return [line for line in resp.iter_lines() if line]


def test_reset_drops_the_connection_before_any_answer(proxy) -> None:
    p = proxy("reset")
    with pytest.raises(httpx.TransportError):
        httpx.post(f"{p.url}/v1/chat/completions", json=CHAT, timeout=10)
    assert p.end() == {"reset": 1}


def test_stall_keeps_the_connection_open_and_silent(proxy) -> None:
    p = proxy("stall")
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{p.url}/v1/chat/completions", json=CHAT, timeout=httpx.Timeout(1.0, connect=5))
    assert p.end() == {"stalled": 1}


def test_slow_first_token_delivers_the_whole_answer_late(proxy) -> None:
    p = proxy("slow-first-token", "--delay", "1")
    t0 = time.monotonic()
    lines = _stream(p.url)
    assert time.monotonic() - t0 >= 1.0
    assert lines[-1] == "data: [DONE]" and '"finish_reason": "stop"' in lines[-2]
    assert p.end() == {"delayed": 1, "forwarded": 1}


def test_stream_cut_ends_the_body_early_without_done(proxy) -> None:
    p = proxy("stream-cut", "--cut-after", "300")
    got: list[str] = []
    with (
        pytest.raises(httpx.RemoteProtocolError),  # the chunked body ends before its last chunk
        httpx.stream("POST", f"{p.url}/v1/chat/completions", json={**CHAT, "stream": True}, timeout=10) as r,
    ):
        got.extend(r.iter_lines())
    assert got and "data: [DONE]" not in got
    plain = httpx.post(f"{p.url}/v1/chat/completions", json=CHAT, timeout=10)  # not streamed: served whole
    assert plain.status_code == 200 and plain.json()["choices"][0]["finish_reason"] == "stop"
    assert p.end() == {"cut": 1, "forwarded": 1}


def test_loading_answers_what_llama_server_answers_while_its_model_loads(proxy, llama: LlamaDouble) -> None:
    """Bound to what the real server said (captured from the local llama-server image during its
    load): the same status and body on every path, /health and /v1/models included."""
    captured = json.loads((Path(__file__).parent / "llama_server_loading.json").read_text())
    p = proxy("loading")
    answers = {
        "GET /health": httpx.get(f"{p.url}/health", timeout=10),
        "GET /v1/models": httpx.get(f"{p.url}/v1/models", timeout=10),
        "POST /v1/chat/completions": httpx.post(f"{p.url}/v1/chat/completions", json=CHAT, timeout=10),
    }
    for request, resp in answers.items():
        assert resp.status_code == captured["status"], request
        assert resp.json() == json.loads(captured["bodies"][request]) == LOADING, request
    assert p.end() == {"loading": 3}


@pytest.mark.parametrize(("after", "header"), [("2", "2"), ("0", None)])
def test_rate_limit_answers_429_with_or_without_retry_after(proxy, after: str, header: str | None) -> None:
    p = proxy("rate-limit", "--retry-after", after)
    resp = httpx.post(f"{p.url}/v1/chat/completions", json=CHAT, timeout=10)
    assert resp.status_code == 429 and resp.headers.get("retry-after") == header
    assert p.end() == {"rate-limited": 1}


def test_flap_starts_down_then_serves_for_a_period() -> None:
    proxy = FaultProxy(Fault("flap", period_s=5), "http://127.0.0.1:1")
    proxy.started = time.monotonic() - 1
    assert proxy.flapping_down()
    proxy.started = time.monotonic() - 6
    assert not proxy.flapping_down()
    proxy.started = time.monotonic() - 11
    assert proxy.flapping_down()


def test_flap_resets_in_its_first_period(proxy) -> None:
    p = proxy("flap", "--period", "600")
    with pytest.raises(httpx.TransportError):
        httpx.post(f"{p.url}/v1/chat/completions", json=CHAT, timeout=10)
    assert p.end() == {"reset": 1}


def test_the_proxy_ends_by_itself_at_its_expiry(proxy) -> None:
    p = proxy("stall", "--expire-after", "0.5")
    assert p.proc.wait(timeout=20) == 0


def test_the_proxy_ends_when_its_parent_is_gone(proxy) -> None:
    p = proxy("stall", "--watch-stdin")
    assert p.proc.stdin is not None
    p.proc.stdin.close()  # what the kernel does when the runner dies
    assert p.proc.wait(timeout=20) == 0


def test_a_healthy_pass_through_is_byte_for_byte(proxy, llama: LlamaDouble) -> None:
    p = proxy("slow-first-token", "--delay", "0")
    direct = httpx.post(f"{llama.url}/v1/chat/completions", json=CHAT, timeout=10)
    through = httpx.post(f"{p.url}/v1/chat/completions", json=CHAT, timeout=10)
    assert through.status_code == 200 and through.content == direct.content
    assert through.headers["content-type"] == direct.headers["content-type"]
