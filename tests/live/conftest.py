"""Fixtures of the live tier: the stack must be up (`make up`), or the test fails saying so
(tests/conftest.py skips the tier instead when it is not the live tier that runs)."""

from __future__ import annotations

import httpx
import pytest

from infra.spec import Platform, load_platform
from runbooks.probes import health_url
from tests.support.live import STACK


@pytest.fixture
def platform() -> Platform:
    platform = load_platform(STACK)
    try:
        httpx.get(health_url(platform, platform.service("api-gateway")), timeout=5).raise_for_status()
    except httpx.HTTPError as err:
        pytest.fail(f"the {STACK} stack is not up ({err}): run `invoke stack.up --stack {STACK}` first")
    return platform
