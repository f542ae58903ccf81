"""Graceful-reload settings of a stack (`inferops:reload`), read by `runbook.reload`.

Seed 002's reload warms a new model up with 5 inferences before it takes traffic; these are
the knobs of that procedure on the compose target (the EKS rollout uses `inferops:eks`).
Nothing here is secret.
"""

from __future__ import annotations

from pydantic import Field

from infra.spec.base import Strict

SECRET_KEYS: tuple[str, ...] = ()

# The gateway's DNS cache (LiteLLM's aiohttp connector, `ttl_dns_cache`, 300 s by default).
# A reload moves traffic by DNS, so the gateway must look names up again within seconds.
GATEWAY_DNS_TTL_ENV = "AIOHTTP_TTL_DNS_CACHE"
GATEWAY_DNS_TTL_DEFAULT_S = 300


class Reload(Strict):
    """How `runbook.reload` loads, warms up, switches to and drains llama-server instances.

    `warmup_requests` real completions (seed 002: 5) must each answer within
    `warmup_latency_budget_s` before the new instance takes traffic; `load_timeout_s` bounds the
    model load (default: the service's own health wait); `drain_timeout_s` bounds the wait for
    the old instance's last connection to close; `dns_settle_margin_s` is added to the gateway's
    DNS cache TTL before the old instance stops taking new connections.
    """

    warmup_requests: int = Field(5, ge=1, le=100)
    warmup_latency_budget_s: float = Field(30, gt=0, le=3600)
    warmup_max_tokens: int = Field(8, ge=1, le=4096)
    load_timeout_s: float | None = Field(None, gt=0, le=7200)
    drain_timeout_s: float = Field(120, gt=0, le=3600)
    dns_settle_margin_s: float = Field(1, ge=0, le=600)
