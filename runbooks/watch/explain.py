"""The optional explanation (seed 000's Gemma step): 1-3 sentences from the stack's own chat model.

Asked through the gateway (a model group, `inferops:watch.explain_model`) under a hard timeout
(`explain_timeout_s`, the whole call): a slow or dead model never holds an alert back longer than
that, and any failure just means no explanation. The prompt carries only issue summaries and
keys, redacted (query-string tokens, bearer tokens, URL credentials), never a secret.
"""

from __future__ import annotations

import asyncio

import httpx

from infra.spec.model import Platform, Role
from runbooks.watch.machine import Notice
from runbooks.watch.notify import redact

__all__ = ["explain", "prompt"]

INSTRUCTION = (
    "You monitor a self-hosted LLM inference platform. In 1-3 sentences, give the likely cause of "
    "these issues and the next step an operator should take. Plain text, no lists."
)


def prompt(notices: list[Notice]) -> str:
    lines = "\n".join(f"- {redact(n.summary)} (key {redact(n.key)})" for n in notices)
    return f"{INSTRUCTION}\n\nIssues:\n{lines}"


def gateway_url(platform: Platform) -> str | None:
    gws = [s for s in platform.by_role(Role.GATEWAY) if platform.reachable(s)]
    return platform.url(gws[0], "/v1/chat/completions") if gws else None


async def _ask(client: httpx.AsyncClient, url: str, model: str, text: str, headers: dict[str, str]) -> str | None:
    body = {"model": model, "messages": [{"role": "user", "content": text}], "max_tokens": 120, "temperature": 0.3}
    resp = await client.post(url, json=body, headers=headers)
    if resp.status_code != 200:
        return None
    answer = resp.json()["choices"][0]["message"]["content"]
    return " ".join(str(answer).split())[:600] or None


async def explain(
    platform: Platform, notices: list[Notice], url: str | None = None, headers: dict[str, str] | None = None
) -> str | None:
    """The model's explanation of new alerts, or None (off, no gateway, error, or timeout)."""
    cfg = platform.watch
    alerts = [n for n in notices if n.kind == "alert"]
    url = url or gateway_url(platform)
    if not cfg.explain or not alerts or not url:
        return None
    if headers is None:
        from runbooks.probes import gateway_headers

        headers = gateway_headers(platform.stack)
    try:
        async with httpx.AsyncClient(timeout=cfg.explain_timeout_s) as client:
            return await asyncio.wait_for(
                _ask(client, url, cfg.explain_model, prompt(alerts), headers), cfg.explain_timeout_s
            )
    except (TimeoutError, httpx.HTTPError, ValueError, KeyError, IndexError, TypeError):
        return None
