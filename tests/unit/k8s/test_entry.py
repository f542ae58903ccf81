"""`pulumi up -s eks-prod` path: the project's entry point dispatches a `target: eks` stack to
`deploy_eks` and the objects reach the engine (Pulumi mocks stand in for it)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pulumi
import pytest

from infra.spec.stackconfig import read_stack_config
from tests.unit.k8s.conftest import TEST_SECRETS


class _Mocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.types: list[str] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.types.append(args.typ)
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        return {}


def test_entry_point_deploys_eks(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    from infra.program import main

    raw = read_stack_config("eks-prod")
    config = {f"inferops:{k}": v if isinstance(v, str) else json.dumps(v) for k, v in raw.items()}
    config.update({f"inferops:{k}": v for k, v in TEST_SECRETS.items()})
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    mocks = _Mocks()
    try:
        pulumi.runtime.set_mocks(mocks, project="inferops", stack="eks-prod", preview=False)
        pulumi.runtime.set_all_config(config, secret_keys=[f"inferops:{k}" for k in TEST_SECRETS])

        @pulumi.runtime.test
        def program() -> None:
            main()

        program()
    finally:
        loop.close()
        asyncio.set_event_loop(None)
    assert "pulumi:providers:kubernetes" in mocks.types
    assert "kubernetes:karpenter.sh/v1:NodePool" in mocks.types
    assert "kubernetes:apps/v1:Deployment" in mocks.types
    assert not [t for t in mocks.types if t.startswith("docker:")]
