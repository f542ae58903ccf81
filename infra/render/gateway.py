"""The LiteLLM proxy config: priority failover between the inference backends.

Settings follow what was measured to lose no request when a primary dies: deployments ordered
1/2, `allowed_fails: 0` (cool a failed deployment down at once), `num_retries: 0` (the next
deployment is tried instead of the same one again), a short explicit `cooldown_time`, and
background health checks that route around hung backends.
"""

from __future__ import annotations

from typing import Any

from infra.spec.defaults import GATEWAY_KEY_ENV
from infra.spec.model import Platform

# The env var the gateway row's `secret_env` fills from the secret `gatewayMasterKey`.
MASTER_KEY_ENV = GATEWAY_KEY_ENV
CONFIG_PATH = "/etc/litellm/config.yaml"


def attempt_timeout(platform: Platform, group: str) -> float:
    """Seconds one deployment may take, so that trying every backend of the group in order
    still fits in LLM_REQUEST_TIMEOUT (the client's whole-request budget): a hung primary
    then costs one attempt, and the request is answered by the next deployment."""
    return round(platform.tuning.LLM_REQUEST_TIMEOUT / len(platform.gateway.routes[group]), 3)


def gateway_config(platform: Platform) -> dict[str, Any]:
    gw = platform.gateway
    timeout = platform.tuning.LLM_REQUEST_TIMEOUT
    model_list = []
    for group, backends in gw.routes.items():
        per_attempt = attempt_timeout(platform, group)
        for order, name in enumerate(backends, start=1):
            backend = platform.service(name)
            model_list.append(
                {
                    "model_name": group,
                    "litellm_params": {
                        "model": f"openai/{group}",
                        "api_base": platform.internal_url(backend, "/v1"),
                        "api_key": "none",
                        # Priority failover; the pinned LiteLLM honours it and does not pick the
                        # failed primary again (#18444, #38968: tests/live/test_failover_modes_live.py).
                        "order": order,
                        # One attempt's share of the client's budget: a hung primary (pause, stall,
                        # slow-first-token) costs one attempt, then the next deployment answers.
                        "timeout": per_attempt,
                        # The wait for the first chunk. There is no per-token timeout and no
                        # fallback once a stream has started (#40404): a cut stream ends in an
                        # error event its client sees, never in a hang.
                        "stream_timeout": per_attempt,
                    },
                    "model_info": {"id": f"{group}-{name}", "health_check_timeout": gw.health_check_timeout_s},
                }
            )
    return {
        "model_list": model_list,
        "router_settings": {
            # 0: the first failure cools a deployment down (connection errors too on the pinned
            # version, #27362 not hit). Every group has two deployments, so the single-deployment
            # case that is never cooled down (#40405) does not arise.
            "allowed_fails": gw.allowed_fails,
            # 0: the next deployment, not the failed one again (each retry is one more attempt, #40405).
            "num_retries": gw.num_retries,
            # Explicit: sources disagree on the default. Short, so a restored primary is back soon.
            "cooldown_time": gw.cooldown_time_s,
            "timeout": timeout,
        },
        "litellm_settings": {
            "num_retries": gw.num_retries,
            "request_timeout": timeout,
            "callbacks": ["prometheus"],
        },
        "general_settings": {
            "master_key": f"os.environ/{MASTER_KEY_ENV}",
            # Route around a backend that fails a real completion (hung, loading, 429) before
            # a client's request pays for it; health checks alone do not change routing.
            "background_health_checks": True,
            "health_check_interval": gw.health_check_interval_s,
            "enable_health_check_routing": True,
            # Explicit: unset, some versions fall back to 2 x the 300 s default interval.
            "health_check_staleness_threshold": gw.health_check_interval_s * 3,
        },
    }


def backend_of(platform: Platform, model_id: str) -> str:
    """The service behind a deployment id as LiteLLM reports it (`x-litellm-model-id`)."""
    for group in platform.gateway.routes:
        prefix = f"{group}-"
        if model_id.startswith(prefix) and model_id[len(prefix) :] in platform.services:
            return model_id[len(prefix) :]
    raise KeyError(f"unknown gateway deployment id {model_id!r}")
