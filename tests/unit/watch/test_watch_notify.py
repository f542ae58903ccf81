"""Receivers and the outbox against real servers on 127.0.0.1: the project's alert sink behind TLS
with a throwaway CA (trustme), a closed port for a receiver that is down, a gateway that hangs."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import httpx
import pytest
import trustme
from hypothesis import given, settings
from hypothesis import strategies as st

from runbooks.watch import explain, notify
from runbooks.watch.machine import Notice, notice_id
from runbooks.watch.store import Delivery, StateFile
from tests.unit.watch.servers import free_port, silent_server, sink, watch_platform

SECRET_PATH = "/webapi/entry.cgi?api=SYNO.Chat.External&method=incoming&version=2&token=s3cr3t-t0ken"


def _notice(key: str = "docker:localhost:inference-chat:exited", kind: str = "alert", ep: int = 1) -> Notice:
    return Notice(
        id=notice_id(kind, key, ep), kind=kind, key=key, summary=f"{key} is down", at=1_700_000_000, episode=ep
    )


def _synology(monkeypatch: pytest.MonkeyPatch, base: str):
    monkeypatch.setenv("INFEROPS_ALERTSYNOLOGYWEBHOOKURL", base + SECRET_PATH)
    return watch_platform(
        {"receivers": [{"name": "chat", "kind": "synology", "service": "synology-relay"}]},
        services={"synology-relay": {"enabled": True}},
        alerting={
            "receivers": [{"name": "chat", "kind": "synology", "service": "synology-relay"}],
            "default_receiver": "chat",
            "routes": {"critical": ["chat"], "warning": ["chat"], "info": ["chat"]},
        },
    )


async def _cycle(platform, state: StateFile, notices: list[Notice]) -> tuple[int, list[str]]:
    eps = notify.endpoints(platform)
    notify.enqueue(state, notices, eps, None, time.time())
    async with httpx.AsyncClient(verify=notify.tls_verify()) as client:
        return await notify.deliver_all(state, eps, notify.http_sender(client, platform.stack, 5), lambda: None)


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def test_synology_form_payload_over_verified_tls(ca: trustme.CA, tmp_path: Path, monkeypatch) -> None:
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv(notify.CA_ENV, str(bundle))
    with sink(tls=ca) as (base, store):
        platform = _synology(monkeypatch, base)
        state = StateFile()
        delivered, errors = asyncio.run(_cycle(platform, state, [_notice()]))
        items = store.list()
    assert (delivered, errors, state.outbox) == (1, [], [])
    assert len(items) == 1 and items[0]["content_type"].startswith("application/x-www-form-urlencoded")
    text = json.loads(items[0]["body"]["payload"])["text"]
    assert "ALERT" in text and "inference-chat" in text and "docker:localhost:inference-chat:exited" in text


def test_an_untrusted_certificate_is_refused_and_the_notice_kept(ca: trustme.CA, monkeypatch) -> None:
    monkeypatch.delenv(notify.CA_ENV, raising=False)  # the system CAs do not know the test CA
    with sink(tls=ca) as (base, store):
        platform = _synology(monkeypatch, base)
        state = StateFile()
        delivered, errors = asyncio.run(_cycle(platform, state, [_notice()]))
        assert store.list() == []
    assert delivered == 0 and len(state.outbox) == 1 and state.outbox[0].attempts == 1
    assert "CERTIFICATE_VERIFY_FAILED" in errors[0] or "SSL" in errors[0]
    assert "s3cr3t" not in " ".join(errors) + state.model_dump_json()


def test_receiver_down_for_a_cycle_then_the_notice_arrives_once(monkeypatch) -> None:
    port = free_port()
    monkeypatch.setenv("INFEROPS_ALERTWEBHOOKURL", f"http://127.0.0.1:{port}/hook?token=abc")
    platform = watch_platform({"receivers": [{"name": "hook", "kind": "webhook"}]})
    state = StateFile()
    delivered, errors = asyncio.run(_cycle(platform, state, [_notice()]))
    assert delivered == 0 and len(state.outbox) == 1 and "ConnectError" in errors[0] and "abc" not in errors[0]
    with sink(port=port) as (_, store):
        again = asyncio.run(_cycle(platform, state, [_notice()]))  # the same transition replayed: not re-queued
        third = asyncio.run(_cycle(platform, state, []))
        items = store.list()
    assert again == (1, []) and third == (0, []) and state.outbox == []
    assert len(items) == 1 and items[0]["body"]["status"] == "firing" and items[0]["path"] == "/hook"


def test_slack_json_and_generic_webhook_json(monkeypatch) -> None:
    with sink() as (base, store):
        monkeypatch.setenv("INFEROPS_ALERTSLACKWEBHOOKURL", base + "/slack")
        monkeypatch.setenv("INFEROPS_ALERTWEBHOOKURL", base + "/generic")
        platform = watch_platform(
            {"receivers": [{"name": "s", "kind": "slack", "channel": "#ops"}, {"name": "g", "kind": "webhook"}]}
        )
        state = StateFile()
        asyncio.run(_cycle(platform, state, [_notice(kind="recovery")]))
        items = {i["path"]: i["body"] for i in store.list()}
    assert "RECOVERED" in items["/slack"]["text"]
    assert items["/generic"]["kind"] == "recovery" and items["/generic"]["status"] == "resolved"
    assert items["/generic"]["id"].endswith(".g")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.booleans()), min_size=1, max_size=25))
def test_outbox_delivers_each_notification_exactly_once_in_order(cycles: list[tuple[int, bool]]) -> None:
    """Random new notices per cycle and a receiver up or down each cycle; then one cycle up."""
    received: list[str] = []
    up = {"now": False}

    async def send(ep, d: Delivery) -> None:  # the receiver: takes the notice or fails
        if not up["now"]:
            raise httpx.ConnectError("receiver down")
        received.append(d.id)

    ep = notify.Endpoint(notify.Receiver(name="r", kind="webhook"), "http://127.0.0.1:9/")
    state = StateFile()
    made: list[str] = []
    n = 0
    for count, is_up in [*cycles, (0, True)]:
        notices = []
        for _ in range(count):
            n += 1
            notices.append(_notice(key=f"k:h:t{n}:c"))
        notify.enqueue(state, notices + notices[:1], [ep], None, 0.0)  # a duplicate in the same cycle
        made.extend(f"{x.id}.r" for x in notices)
        up["now"] = is_up
        asyncio.run(notify.deliver_all(state, [ep], send, lambda: None))
    assert received == made and state.outbox == []


def test_a_hanging_gateway_costs_the_explanation_timeout_not_more() -> None:
    platform = watch_platform({"explain": True, "explain_timeout_s": 0.5})
    with silent_server() as base:
        t0 = time.monotonic()
        got = asyncio.run(explain.explain(platform, [_notice()], url=base + "/v1/chat/completions", headers={}))
        took = time.monotonic() - t0
    assert got is None and took < 0.5 + 1.5


def test_the_explanation_prompt_carries_no_secret(monkeypatch) -> None:
    platform = watch_platform({"explain": True, "explain_timeout_s": 5})
    leaky = _notice().model_copy(update={"summary": f"webhook https://user:pw@chat.example{SECRET_PATH} failed"})
    with sink() as (base, store):
        got = asyncio.run(explain.explain(platform, [leaky], url=base + "/v1/chat/completions", headers={}))
        prompt = store.list()[0]["body"]["messages"][0]["content"]
    assert got is None  # the sink answers {"stored": 1}: not a chat completion, so no explanation
    assert "s3cr3t" not in prompt and "pw@" not in prompt and "token=***" in prompt
