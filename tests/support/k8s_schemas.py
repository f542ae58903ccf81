"""Kubernetes objects checked against real schemas: core kinds with kubernetes-validate (strict),
custom resources against the operators' CRDs in ../shared/schemas/crds (closed, as the API server
prunes unknown fields of a structural CRD silently). Shared by the unit and engine tiers."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

import jsonschema
import kubernetes_validate
import yaml

from tests.support.shared_schemas import SCHEMAS, require

__all__ = ["CRDS", "CUSTOM", "check_objects", "load_crd_validator"]

CRDS = SCHEMAS / "crds"
CUSTOM = {"NodePool", "EC2NodeClass", "PrometheusRule", "ServiceMonitor", "AlertmanagerConfig"}
Validator = Callable[[dict[str, Any]], list[str]]
# The CRDs and the objects rendered from them write Karpenter's `matchType: =` (YAML 1.1's value
# tag), which PyYAML's SafeLoader has no constructor for: read it as the string it is, for every
# loader in the test process, before anything parses such a file.
yaml.SafeLoader.add_constructor("tag:yaml.org,2002:value", yaml.SafeLoader.construct_yaml_str)


def _strict(schema: Any) -> Any:
    """Close every object schema that lists properties: a misspelt field is an error here."""
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


@functools.cache
def load_crd_validator() -> Validator:
    """A validator of custom resources against their CRD's served versions; SchemaMissing (a
    FileNotFoundError) when the CRDs are not beside the repository."""
    schemas: dict[tuple[str, str], dict[str, Any]] = {}
    for path in sorted(require(CRDS, "the CRD schemas").glob("*.yaml")):
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


def check_objects(objects: Mapping[str, dict[str, Any]], version: str, crd_validator: Validator) -> dict[str, int]:
    """Assert every object is valid; returns how many of each kind were checked."""
    errors: list[str] = []
    counted: dict[str, int] = {}
    for key, obj in objects.items():
        counted[obj["kind"]] = counted.get(obj["kind"], 0) + 1
        if obj["kind"] in CUSTOM:
            errors += [f"{key}: {e}" for e in crd_validator(obj)]
        else:
            try:
                kubernetes_validate.validate(obj, version, strict=True)
            except kubernetes_validate.ValidationError as err:
                errors.append(f"{key}: {'.'.join(map(str, err.absolute_path))}: {err.message}")
    assert not errors, "\n".join(errors)
    return counted
