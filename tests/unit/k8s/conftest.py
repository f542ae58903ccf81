"""Fixtures for the EKS program tests: the eks-prod platform, the program run under Pulumi mocks,
and validators from the Kubernetes API schemas (kubernetes-validate) and the operators' CRDs."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from infra.spec import Platform, platform_from_config
from infra.spec.stackconfig import read_stack_config
from infra.targets.k8s.render import capture, plain
from tests.support.k8s_schemas import load_crd_validator

TEST_SECRETS = {
    "gatewayMasterKey": "sk-test-master-key",
    "alertSlackWebhookUrl": "https://hooks.slack.test/T000/B000/xyz",
    "alertSynologyWebhookUrl": "https://chat.synology.test/webapi/entry.cgi?token=abc",
    "alertPagerdutyRoutingKey": "pd-routing-key-test",
    "alertWebhookUrl": "https://webhook.test/hook",
}

Objects = dict[str, dict[str, Any]]  # "Kind/ns/name" -> manifest as the program registered it


def eks_raw(tmp_path: Path, **eks: Any) -> dict[str, Any]:
    """eks-prod's config with a kubeconfig path that does not exist (so no machine state leaks in)
    and the given `eks` keys replaced."""
    raw = copy.deepcopy(read_stack_config("eks-prod"))
    raw["eks"] = {**raw["eks"], "kubeconfig": str(tmp_path / "no-kubeconfig"), **eks}
    return raw


def make_platform(tmp_path: Path, **eks: Any) -> Platform:
    return platform_from_config("eks-prod", eks_raw(tmp_path, **eks), source="test")


def run_program(platform: Platform) -> tuple[Objects, list[tuple[str, str, dict[str, Any]]]]:
    """Run deploy_eks under mocks (fresh event loop, fresh mocks); return objects by key and the raw
    (type, name, inputs) records with secrets still wrapped."""
    records = capture(platform, TEST_SECRETS)
    objects: Objects = {}
    for typ, _name, inputs in records:
        if not typ.startswith("kubernetes:"):
            continue
        obj = plain(inputs)
        meta = obj["metadata"]
        ns = meta.get("namespace")
        objects[f"{obj['kind']}/{ns}/{meta['name']}" if ns else f"{obj['kind']}/{meta['name']}"] = obj
    return objects, records


@pytest.fixture
def platform(tmp_path: Path) -> Platform:
    return make_platform(tmp_path)


@pytest.fixture
def program(platform: Platform) -> tuple[Objects, list[tuple[str, str, dict[str, Any]]]]:
    return run_program(platform)


@pytest.fixture
def objects(program: tuple[Objects, list]) -> Objects:
    return program[0]


@pytest.fixture(scope="session")
def crd_validator() -> Callable[[dict[str, Any]], list[str]]:
    """Validate a custom resource against its CRD's openAPIV3Schema (served version)."""
    try:
        return load_crd_validator()
    except FileNotFoundError as err:  # ../shared is part of the test setup: missing, the run fails
        pytest.fail(str(err))
