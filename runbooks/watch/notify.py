"""Where the watch's notices go: receivers from stack config, and an outbox that loses nothing.

Receivers are the alerting model's `Receiver` (`inferops:watch.receivers`, else the stack's
`inferops:alerting` default receiver):

- `webhook`: JSON (one notice per POST, see `webhook_body`) to the in-stack `service` + `path`
  (the local stack's alert sink) or to the secret `alertWebhookUrl`;
- `slack`: Slack incoming-webhook JSON `{"text": ...}` to the secret `alertSlackWebhookUrl`;
- `synology`: Synology Chat's form field `payload={"text": ...}` (seed 000) posted by the watch
  itself to the secret `alertSynologyWebhookUrl` (the synology-relay row does the same for
  Alertmanager, which can only post JSON);
- `discard`: dropped; `pagerduty` is Alertmanager's job: skipped with a note.

TLS is verified (seed 000 turned it off); `$INFEROPS_WATCH_CA_BUNDLE` adds a private CA. Each
POST has a timeout. Every notice is queued per receiver in the outbox (saved with the state
before anything is sent) and leaves it only when the receiver answered 2xx; one that fails stays
and is retried on the next cycle, in order. Each carries an `Idempotency-Key` (its delivery id)
and the id is remembered after delivery, so a notice re-queued by a replayed cycle is not sent
twice. Exactly once holds unless the process dies between a receiver's 2xx and the state write;
then the retry carries the same key for the receiver to drop.
Secret URLs are never printed: errors name the receiver and the secret key only.
"""

from __future__ import annotations

import json
import os
import re
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from infra.render.watch import ALERTMANAGER_ONLY_KINDS, receiver_secret, receivers
from infra.spec.alerting import Receiver
from infra.spec.model import Platform
from runbooks.watch.machine import Notice
from runbooks.watch.store import Delivery, StateFile

__all__ = [
    "CA_ENV",
    "Endpoint",
    "deliver_all",
    "endpoints",
    "enqueue",
    "message_text",
    "redact",
    "request_for",
]

CA_ENV = "INFEROPS_WATCH_CA_BUNDLE"
ICON = {"alert": "🔴 ALERT", "recovery": "🟢 RECOVERED", "flapping": "🟡 FLAPPING"}
_SECRETISH = re.compile(r"(?i)(token|key|secret|password|sig|signature)=([^&\s]+)|(Bearer\s+)\S+|(https?://)[^\s/@]+@")


def redact(text: str) -> str:
    """Tokens in query strings, bearer tokens and URL credentials blanked out."""

    def sub(m: re.Match[str]) -> str:
        if m.group(1):
            return f"{m.group(1)}=***"
        if m.group(3):
            return f"{m.group(3)}***"
        return f"{m.group(4)}***@"

    return _SECRETISH.sub(sub, text)


@dataclass(frozen=True)
class Endpoint:
    """A receiver resolved to a URL (held here only, never shown) or a reason it cannot be used."""

    receiver: Receiver
    url: str | None
    problem: str | None = None

    @property
    def name(self) -> str:
        return self.receiver.name


def _endpoint(platform: Platform, rcv: Receiver) -> Endpoint:
    from infra.secrets_local import MissingSecret, local_secret

    if rcv.kind in ALERTMANAGER_ONLY_KINDS:
        return Endpoint(rcv, None, f"{rcv.kind} receivers are Alertmanager's; the watch skips {rcv.name}")
    key = receiver_secret(rcv)
    if key is None and rcv.service is not None:
        svc = platform.services.get(rcv.service)
        if svc is None or not svc.enabled:
            return Endpoint(rcv, None, f"receiver {rcv.name}: service {rcv.service} is not enabled")
        url = platform.url(svc, rcv.path) if platform.reachable(svc) else platform.internal_url(svc, rcv.path)
        return Endpoint(rcv, url)
    if key is None:  # discard
        return Endpoint(rcv, None)
    try:
        return Endpoint(rcv, local_secret(platform.stack, key))
    except MissingSecret:
        return Endpoint(rcv, None, f"receiver {rcv.name}: secret {key} is not set (export INFEROPS_{key.upper()})")


def endpoints(platform: Platform) -> list[Endpoint]:
    return [_endpoint(platform, r) for r in receivers(platform)]


def message_text(stack: str, notice: Notice, explanation: str | None = None) -> str:
    """The chat line people read: what, where, since when, and (for alerts) the explanation."""
    when = datetime.fromtimestamp(notice.at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    lines = [f"[inferops-watch {stack}] {ICON[notice.kind]} {notice.summary}", f"key {notice.key} · {when}"]
    if notice.kind == "flapping":
        lines.append("changing state often: quiet until it settles (invoke runbook.watch-state)")
    if explanation:
        lines.append(f"analysis: {explanation}")
    return "\n".join(lines)


def webhook_body(stack: str, d: Delivery) -> dict[str, Any]:
    n = d.notice
    return {
        "source": "inferops-watch",
        "stack": stack,
        "id": d.id,
        "kind": n.kind,
        "status": {"alert": "firing", "recovery": "resolved", "flapping": "flapping"}[n.kind],
        "key": n.key,
        "summary": n.summary,
        "labels": n.labels,
        "episode": n.episode,
        "at": datetime.fromtimestamp(n.at, UTC).isoformat(),
        "explanation": d.explanation,
        "text": message_text(stack, n, d.explanation),
    }


def request_for(stack: str, rcv: Receiver, d: Delivery) -> dict[str, Any]:
    """httpx keyword arguments of the POST for this receiver kind."""
    headers = {"Idempotency-Key": d.id}
    if rcv.kind == "synology":
        text = message_text(stack, d.notice, d.explanation)
        return {"data": {"payload": json.dumps({"text": text}, ensure_ascii=False)}, "headers": headers}
    if rcv.kind == "slack":
        return {"json": {"text": message_text(stack, d.notice, d.explanation)}, "headers": headers}
    return {"json": webhook_body(stack, d), "headers": headers}


def enqueue(state: StateFile, notices: list[Notice], eps: list[Endpoint], explanation: str | None, now: float) -> int:
    """Queue each notice once per usable receiver; returns how many deliveries were queued."""
    queued = 0
    have = {d.id for d in state.outbox} | set(state.sent)
    for n in notices:
        for ep in eps:
            if ep.problem is not None:
                continue
            did = f"{n.id}.{ep.name}"
            if did in have:
                continue  # already queued or delivered: a replayed transition is not sent twice
            text = explanation if n.kind == "alert" else None
            state.outbox.append(Delivery(id=did, receiver=ep.name, notice=n, explanation=text, queued_at=now))
            have.add(did)
            queued += 1
    return queued


def tls_verify() -> ssl.SSLContext | bool:
    """Verification always on; a private CA bundle from $INFEROPS_WATCH_CA_BUNDLE when set."""
    bundle = os.environ.get(CA_ENV)
    if bundle:
        return ssl.create_default_context(cafile=bundle)
    return True


Sender = Callable[[Endpoint, Delivery], Awaitable[None]]


def http_sender(client: httpx.AsyncClient, stack: str, timeout_s: float) -> Sender:
    async def send(ep: Endpoint, d: Delivery) -> None:
        if ep.receiver.kind == "discard":
            return
        assert ep.url is not None
        resp = await client.post(ep.url, timeout=timeout_s, **request_for(stack, ep.receiver, d))
        if not 200 <= resp.status_code < 300:
            raise RuntimeError(f"HTTP {resp.status_code}")

    return send


def _why(err: BaseException) -> str:
    text = f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
    return redact(text)[:300]


async def deliver_all(
    state: StateFile, eps: list[Endpoint], send: Sender, saved: Callable[[], object]
) -> tuple[int, list[str]]:
    """Send what the outbox holds, oldest first; the first failure for a receiver stops that
    receiver until the next cycle (order kept). `saved()` persists after each delivery."""
    by_name = {ep.name: ep for ep in eps}
    blocked: set[str] = set()
    delivered, errors = 0, []
    for d in list(state.outbox):
        if d.id in state.sent:
            state.outbox.remove(d)
            continue
        ep = by_name.get(d.receiver)
        if ep is None or ep.problem is not None or d.receiver in blocked:
            continue
        try:
            await send(ep, d)
        except Exception as err:  # any failure keeps the notice for the next cycle
            d.attempts += 1
            d.last_error = _why(err)
            blocked.add(d.receiver)
            state.failed_deliveries_total += 1
            errors.append(f"receiver {d.receiver}: {d.last_error} ({len(state.outbox)} queued)")
            continue
        state.outbox.remove(d)
        state.mark_sent(d.id)
        state.delivered_total += 1
        delivered += 1
        saved()
    return delivered, errors
