"""Fixtures of the EKS diagnosis tests: the kube API double seeded with the EKS program's objects,
a `Cluster` to build seed 003's scenarios on it through the real kubernetes client, and an
eks-prod stack copy whose kubeconfig points at the double (the runbooks connect exactly as they
do to EKS: kubeconfig file, context, bearer token).

Live switch (read-only diagnoses only): INFEROPS_KUBE_LIVE=1 with KUBECONFIG runs
`live_stack` against that cluster (context INFEROPS_KUBE_CONTEXT, else the current one).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.spec import stackconfig
from infra.targets.k8s.render import manifests
from runbooks.framework.record import RUNS_ENV
from tests.doubles.kube_double import KubeApiDouble, api_client
from tests.unit.eks.scenarios import Cluster
from tests.unit.k8s.conftest import make_platform

LIVE = os.environ.get("INFEROPS_KUBE_LIVE", "").strip() == "1"
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def eks_objects(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """What the EKS program registers for eks-prod, rendered once (Pulumi mocks)."""
    return manifests(make_platform(tmp_path_factory.mktemp("eks-objects")))


@pytest.fixture
def kube(eks_objects: list[dict[str, Any]]) -> Iterator[KubeApiDouble]:
    double = KubeApiDouble(eks_objects, version="1.33")
    with double:
        yield double
    violations = double.guard.take()
    assert not violations, "Kubernetes schema violations:\n" + "\n".join(violations)


@pytest.fixture
def cluster(kube: KubeApiDouble) -> Cluster:
    return Cluster(api_client(kube), kube)


@pytest.fixture(autouse=True)
def runs_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "runs"
    monkeypatch.setenv(RUNS_ENV, str(path))
    return path


def write_stack(directory: Path, kubeconfig: str, context: str = "eks-prod") -> Path:
    """stacks/Pulumi.eks-prod.yaml copied into `directory`, reading `kubeconfig` / `context`."""
    directory.mkdir(parents=True, exist_ok=True)
    text = (ROOT / "stacks" / "Pulumi.eks-prod.yaml").read_text()
    text = re.sub(r"(?m)^(\s+kubeconfig:).*$", rf"\1 {kubeconfig}", text)
    text = re.sub(r"(?m)^(\s+context:).*$", rf"\1 {context}", text)
    path = directory / "Pulumi.eks-prod.yaml"
    path.write_text(text)
    return path


def double_kubeconfig(path: Path, double: KubeApiDouble) -> Path:
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "double", "cluster": {"server": double.url}}],
        "users": [{"name": "double", "user": {"token": double.token}}],
        "contexts": [
            {"name": "eks-prod", "context": {"cluster": "double", "user": "double", "namespace": "inference"}}
        ],
        "current-context": "eks-prod",
    }
    path.write_text(yaml.safe_dump(doc))
    return path


@pytest.fixture
def stack_file(tmp_path: Path, kube: KubeApiDouble, monkeypatch: pytest.MonkeyPatch) -> Path:
    """eks-prod in a temporary stacks/ whose kubeconfig reaches the double (INFEROPS_STACKS_DIR too,
    for the `invoke` subprocess tests)."""
    stacks = tmp_path / "stacks"
    path = write_stack(stacks, str(double_kubeconfig(tmp_path / "kubeconfig", kube)))
    monkeypatch.setattr(stackconfig, "STACKS_DIR", stacks)
    monkeypatch.setenv("INFEROPS_STACKS_DIR", str(stacks))
    return path


@pytest.fixture
def live_stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """With the live switch: eks-prod reading the cluster of $KUBECONFIG (read-only tests only)."""
    kubeconfig = os.environ.get("KUBECONFIG", "").strip().split(os.pathsep)[0]
    if not kubeconfig:
        pytest.skip("INFEROPS_KUBE_LIVE=1 but KUBECONFIG is not set: no cluster to run the live diagnoses against")
    doc = yaml.safe_load(Path(kubeconfig).read_text()) or {}
    context = os.environ.get("INFEROPS_KUBE_CONTEXT") or doc.get("current-context", "")
    stacks = tmp_path / "stacks"
    path = write_stack(stacks, kubeconfig, context)
    monkeypatch.setattr(stackconfig, "STACKS_DIR", stacks)
    return path
