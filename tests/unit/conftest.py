"""Shared fixtures of the unit tier.

promtool and amtool (rule, config and route tests) are the pinned builds (tests/support). A first
build takes minutes, longer than one test may run (pytest-timeout): it happens once after
collection, before any test starts, when a collected test needs the tools and they are not built
yet (scripts/test builds them in a phase of their own before the unit tier).
"""

from __future__ import annotations

import contextlib

import pytest

from infra.monitoring.build import MonitoringToolsMissing
from infra.spec import Platform, load_platform
from infra.spec.stackconfig import available_stacks, read_stack_config
from tests.support.monitoring_tools import monitoring_tool, use

TOOL_FIXTURES = ("promtool", "amtool")


def wanted_tools(items: list[pytest.Item]) -> set[str]:
    """Tools the collected tests use: the fixtures below, or a `monitoring_tools(...)` marker."""
    wanted = {name for item in items for name in getattr(item, "fixturenames", ()) if name in TOOL_FIXTURES}
    for item in items:
        for mark in item.iter_markers("monitoring_tools"):
            wanted.update(mark.args)
    return wanted


def pytest_collection_finish(session: pytest.Session) -> None:
    for name in sorted(wanted_tools(session.items)):
        with contextlib.suppress(MonitoringToolsMissing):  # each test that needs it skips, saying why
            monitoring_tool(name)


@pytest.fixture
def promtool() -> str:
    return use("promtool")


@pytest.fixture
def amtool() -> str:
    return use("amtool")


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
