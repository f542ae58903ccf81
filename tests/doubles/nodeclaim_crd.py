"""A NodeClaim CRD (karpenter.sh/v1) MODELLED from the Karpenter v1 API, for the kube API test double.

The shared schemas hold Karpenter's NodePool and EC2NodeClass CRDs but not its NodeClaim CRD, so
this one is built from the Karpenter v1 Go types (sigs.k8s.io/karpenter pkg/apis/v1: nodeclaim.go,
nodeclaim_status.go), reusing the published NodePool CRD's own schemas wherever the Go types are
shared: a NodeClaim's spec is the NodePool's `spec.template.spec` (NodeClaimTemplateSpec: taints,
startupTaints, requirements, nodeClassRef, expireAfter, terminationGracePeriod) plus
`resources.requests`; its status carries `conditions` (the same Condition type as the NodePool's),
`providerID`, `imageID`, `nodeName`, `capacity`, `allocatable` and `lastPodEventTime`. Cluster
scoped, with a status subresource, like the real one. `crd()` is a complete
CustomResourceDefinition, so a real API server can take it too (`nodeclaim_crd_yaml()`).

Condition types and reasons Karpenter v1 writes (pkg/apis/v1/nodeclaim_status.go,
pkg/controllers/nodeclaim/lifecycle): Launched, Registered, Initialized, Ready (plus Drifted,
Empty, Consolidatable, Disrupting, ConsistentStateFound); new conditions start Unknown with reason
AwaitingReconciliation; a failed launch sets Launched False, reason LaunchFailed, the cloud
provider's error as message.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import yaml

from tests.support.shared_schemas import SCHEMAS, require

__all__ = ["CRDS", "NODEPOOL_CRD", "crd", "crd_file", "nodeclaim_crd_yaml", "schema_of"]

CRDS = SCHEMAS / "crds"
NODEPOOL_CRD = CRDS / "karpenter.sh_nodepools.yaml"


@functools.cache
def crd_file(path: Path) -> dict[str, Any]:
    """A CRD document of ../shared/schemas/crds, parsed once; SchemaMissing when it is not there."""
    return yaml.safe_load(require(path, "the Karpenter CRD").read_text())


def schema_of(crd_doc: dict[str, Any], version: str = "v1") -> dict[str, Any]:
    """The openAPIV3Schema of `version` of a CRD document."""
    for v in crd_doc["spec"]["versions"]:
        if v["name"] == version:
            return v["schema"]["openAPIV3Schema"]
    raise KeyError(f"{crd_doc['metadata']['name']} has no version {version}")


@functools.cache
def _nodeclaim_schema() -> dict[str, Any]:
    pool = schema_of(crd_file(NODEPOOL_CRD))
    template_spec = copy.deepcopy(pool["properties"]["spec"]["properties"]["template"]["properties"]["spec"])
    quantity = pool["properties"]["spec"]["properties"]["limits"]["additionalProperties"]  # the same Quantity
    template_spec["properties"]["resources"] = {
        "type": "object",
        "description": "Resources models the resource requirements for the NodeClaim to launch",
        "properties": {"requests": {"type": "object", "additionalProperties": quantity}},
    }
    conditions = copy.deepcopy(pool["properties"]["status"]["properties"]["conditions"])
    status = {
        "type": "object",
        "description": "NodeClaimStatus defines the observed state of NodeClaim",
        "properties": {
            "conditions": conditions,
            "providerID": {"type": "string"},
            "imageID": {"type": "string"},
            "nodeName": {"type": "string"},
            "capacity": {"type": "object", "additionalProperties": quantity},
            "allocatable": {"type": "object", "additionalProperties": quantity},
            "lastPodEventTime": {"type": "string", "format": "date-time"},
        },
    }
    return {
        "type": "object",
        "description": "NodeClaim is the Schema for the NodeClaims API (modelled, see tests/doubles/nodeclaim_crd.py)",
        "required": ["spec"],
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object"},
            "spec": template_spec,
            "status": status,
        },
    }


def crd() -> dict[str, Any]:
    """The modelled NodeClaim CustomResourceDefinition (apiextensions.k8s.io/v1)."""
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "nodeclaims.karpenter.sh"},
        "spec": {
            "group": "karpenter.sh",
            "names": {
                "categories": ["karpenter"],
                "kind": "NodeClaim",
                "listKind": "NodeClaimList",
                "plural": "nodeclaims",
                "singular": "nodeclaim",
            },
            "scope": "Cluster",
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "schema": {"openAPIV3Schema": _nodeclaim_schema()},
                }
            ],
        },
    }


def nodeclaim_crd_yaml() -> str:
    """The CRD as YAML, for `kubectl apply -f -` on a real (throwaway) control plane."""
    return yaml.safe_dump(crd(), sort_keys=False)
