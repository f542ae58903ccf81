"""Fixtures for the EKS program tests: the eks-prod platform, the program run under Pulumi mocks,
and validators from the Kubernetes API schemas (kubernetes-validate) and the operators' CRDs."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from infra.spec import Platform, platform_from_config
from infra.spec.stackconfig import ROOT, read_stack_config
from infra.targets.k8s.render import capture, plain

SCHEMAS = ROOT.parent / "shared" / "schemas"
CRDS = SCHEMAS / "crds"
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


def _strict(schema: Any) -> Any:
    """Close every object schema that lists properties: the API server prunes unknown fields of
    a structural CRD silently, so an unknown (misspelt) field is an error here."""
    if isinstance(schema, dict):
        out = {k: _strict(v) for k, v in schema.items()}
        if (
            "properties" in out
            and "additionalProperties" not in out
            and not out.get("x-kubernetes-preserve-unknown-fields")
        ):
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [_strict(v) for v in schema]
    return schema


@pytest.fixture(scope="session")
def crd_validator() -> Callable[[dict[str, Any]], list[str]]:
    """Validate a custom resource against its CRD's openAPIV3Schema (served version)."""
    if not CRDS.is_dir():
        pytest.skip(f"CRD schemas not found at {CRDS} (the shared/schemas folder next to the repo)")
    yaml.SafeLoader.add_constructor("tag:yaml.org,2002:value", yaml.SafeLoader.construct_yaml_str)
    schemas: dict[tuple[str, str], dict[str, Any]] = {}
    for path in sorted(CRDS.glob("*.yaml")):
        crd = yaml.safe_load(path.read_text())
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            if version.get("served"):
                schemas[(f"{group}/{version['name']}", kind)] = _strict(version["schema"]["openAPIV3Schema"])

    def validate(obj: dict[str, Any]) -> list[str]:
        schema = schemas.get((obj["apiVersion"], obj["kind"]))
        if schema is None:
            return [f"no CRD for {obj['apiVersion']} {obj['kind']}; have {sorted(schemas)}"]
        validator = jsonschema.Draft7Validator(schema)
        return [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(obj)]

    return validate
