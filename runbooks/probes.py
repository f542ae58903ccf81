"""HTTP probes shared by runbooks: a service's health URL, waiting for health, gateway auth.

Everything comes from the service table: the health path, port, expected status and timeouts.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import httpx

from infra.render.gateway import backend_of
from infra.spec.model import Platform, Role, Service
from runbooks.framework.errors import RunbookError
from runbooks.targets.base import Target

# An HTTP probe costs about a millisecond, so polling fast is cheap and each level of an ordered
# restart loses at most this much after its service turns healthy. Asking the engine costs more.
POLL_S = 0.05
TARGET_POLL_S = 0.2


def health_url(platform: Platform, svc: Service) -> str:
    """The health endpoint as an operator reaches it (published port on the access host)."""
    return platform.url(svc, svc.health.path)


def gateway_headers(stack: str) -> dict[str, str]:
    """Bearer auth for the LiteLLM gateway; empty when no master key is set for the stack."""
    from infra.secrets_local import MissingSecret, local_secret

    try:
        return {"Authorization": f"Bearer {local_secret(stack, 'gatewayMasterKey')}"}
    except MissingSecret:
        return {}


def gateway_url(platform: Platform) -> str:
    """The gateway's chat completions endpoint as an operator reaches it."""
    gateways = platform.by_role(Role.GATEWAY)
    if not gateways:
        raise RunbookError(f"stack {platform.stack!r} has no gateway service")
    return platform.url(gateways[0], "/v1/chat/completions")


def completion_payload(group: str, max_tokens: int) -> dict[str, Any]:
    """The drills' test completion: short, deterministic, for one gateway model group."""
    return {
        "model": group,
        "messages": [{"role": "user", "content": "Reply with one word: ok"}],
        "max_tokens": max_tokens,
        "temperature": 0,
    }


def served_by(platform: Platform) -> Callable[[httpx.Response], str | None]:
    """The backend service that answered a gateway response (`x-litellm-model-id`), None if unknown."""

    def served(resp: httpx.Response) -> str | None:
        model_id = resp.headers.get("x-litellm-model-id")
        try:
            return backend_of(platform, model_id) if model_id else None
        except KeyError:
            return None

    return served


async def probe_once(client: httpx.AsyncClient, platform: Platform, svc: Service) -> bool:
    try:
        resp = await client.get(health_url(platform, svc), timeout=svc.health.timeout_s)
    except httpx.HTTPError:
        return False
    return resp.status_code == svc.health.expect_status


async def wait_healthy(
    platform: Platform,
    svc: Service,
    timeout_s: float,
    target: Target | None = None,
    client: httpx.AsyncClient | None = None,
) -> float:
    """Seconds until `svc` answers its health check; RunbookError after `timeout_s`.

    Published services are polled over HTTP every 50 ms (far faster than Docker's own interval);
    unpublished ones through the target's health state every 0.2 s.
    """
    t0 = time.monotonic()
    deadline = t0 + timeout_s
    own = client is None
    client = client or httpx.AsyncClient()
    try:
        while True:
            poll = POLL_S
            if platform.reachable(svc):
                ok = await probe_once(client, platform, svc)
            elif target is not None:
                poll = TARGET_POLL_S
                ok = (await asyncio.to_thread(target.state, svc.name)).serving
            else:
                raise RunbookError(f"{svc.name} is not published and no target can report its health")
            if ok:
                return time.monotonic() - t0
            if time.monotonic() >= deadline:
                raise RunbookError(
                    f"{svc.name} not healthy within {timeout_s:g} s ({health_url(platform, svc)} "
                    f"expects {svc.health.expect_status})"
                )
            await asyncio.sleep(poll)
    finally:
        if own:
            await client.aclose()


def wait_healthy_sync(platform: Platform, svc: Service, timeout_s: float, target: Target | None = None) -> float:
    return asyncio.run(wait_healthy(platform, svc, timeout_s, target))
