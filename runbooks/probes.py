"""HTTP probes shared by runbooks: a service's health URL, waiting for health, gateway auth.

Everything comes from the service table: the health path, port, expected status and timeouts.
"""

from __future__ import annotations

import asyncio
import time

import httpx

from infra.spec.model import Platform, Service
from runbooks.framework.errors import RunbookError
from runbooks.targets.base import Target

# An HTTP probe costs about a millisecond, so polling fast is cheap and each level of an ordered
# restart loses at most this much after its service turns healthy. Asking the engine costs more.
POLL_S = 0.05
TARGET_POLL_S = 0.2


def health_url(platform: Platform, svc: Service) -> str:
    """The health endpoint as an operator reaches it (published port on the access host)."""
    return f"http://{platform.access_host}:{svc.published_port}{svc.health.path}"


def gateway_headers(stack: str) -> dict[str, str]:
    """Bearer auth for the LiteLLM gateway; empty when no master key is set for the stack."""
    from infra.secrets_local import MissingSecret, local_secret

    try:
        return {"Authorization": f"Bearer {local_secret(stack, 'gatewayMasterKey')}"}
    except MissingSecret:
        return {}


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
            if svc.publish:
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
