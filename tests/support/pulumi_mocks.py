"""Run a Pulumi program function under `pulumi.runtime.set_mocks` and capture what it registers.

The Pulumi CLI and providers cannot run here; mocks show what the program asks the engine for:
each resource's type, inputs and the resources it depends on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.runtime import mocks as pmocks

SECRET_SIG = "4dabf18193072939515e22adb298388d"  # pulumi's marker for secret values on the wire


def is_secret(value: object) -> bool:
    return isinstance(value, dict) and SECRET_SIG in value


def unwrap(value: object) -> object:
    """The plain value of an input; mocks see a secret as a signature-marked dict."""
    return value["value"] if is_secret(value) else value


@dataclass
class Registered:
    typ: str
    name: str
    inputs: dict[str, Any]
    dependencies: list[str] = field(default_factory=list)
    provider: str | None = None

    @property
    def depends_on_names(self) -> list[str]:
        return sorted(urn.rsplit("::", 1)[-1] for urn in self.dependencies)


class CapturingMocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.registered: dict[str, Registered] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.registered.setdefault(args.name, Registered(args.typ, args.name, {}))
        reg = self.registered[args.name]
        reg.inputs = dict(args.inputs)
        reg.provider = args.provider
        state = dict(args.inputs)
        state.setdefault("name", args.name)
        return f"{args.name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        return {}


class CapturingMonitor(pmocks.MockMonitor):
    """Records each resource's declared dependencies, which the Mocks interface does not see."""

    def RegisterResource(self, request: Any) -> Any:
        mocks: CapturingMocks = self.mocks
        reg = mocks.registered.setdefault(request.name, Registered(request.type, request.name, {}))
        reg.dependencies = list(request.dependencies)
        return super().RegisterResource(request)


def run_program(
    build: Callable[[], Any], stack: str = "test", config: dict[str, str] | None = None
) -> dict[str, Registered]:
    """Run `build` as a Pulumi program on a fresh event loop; return the resources it registered."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    mocks = CapturingMocks()
    try:
        pulumi.runtime.set_mocks(mocks, project="inferops", stack=stack, preview=False, monitor=CapturingMonitor(mocks))
        if config is not None:
            pulumi.runtime.set_all_config(config, secret_keys=[k for k in config if "Key" in k or "secret" in k])

        @pulumi.runtime.test
        def program() -> pulumi.Output[Any]:
            resources = build()
            outputs = [r.urn for r in _flatten(resources)]
            return pulumi.Output.all(*outputs)

        program()
    finally:
        loop.close()
        asyncio.set_event_loop(None)
    return mocks.registered


def _flatten(resources: Any) -> list[pulumi.Resource]:
    if isinstance(resources, pulumi.Resource):
        return [resources]
    if isinstance(resources, dict):
        resources = list(resources.values())
    out: list[pulumi.Resource] = []
    for r in resources or []:
        out.extend(_flatten(r))
    return out
