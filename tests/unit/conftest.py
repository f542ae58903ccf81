"""Shared fixtures of the unit tier."""

from __future__ import annotations

import pytest

from infra.spec import Platform, load_platform
from infra.spec.stackconfig import available_stacks, read_stack_config


@pytest.fixture(params=available_stacks())
def stack_name(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def local() -> Platform:
    return load_platform("local")


@pytest.fixture
def gpu_host() -> Platform:
    return load_platform("gpu-host")


@pytest.fixture
def local_raw() -> dict:
    return read_stack_config("local")
