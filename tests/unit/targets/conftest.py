"""Fixtures of the KubernetesTarget tests: the eks-prod platform, the kube API test double seeded with
the EKS program's own objects, and the target on the real kubernetes client aimed at the double.

Live switch: with INFEROPS_KUBE_LIVE=1 and KUBECONFIG set, `read_target` is a target on that
cluster (context INFEROPS_KUBE_CONTEXT, else the kubeconfig's current one; the eks stack's
namespace), so the read-only tests (ping, state, inspect, logs) run against a real API server.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from infra.spec import Platform
from infra.targets.k8s.render import manifests
from runbooks.targets.k8s_target import KubernetesTarget
from tests.doubles.kube_double import KubeApiDouble, api_client
from tests.unit.k8s.conftest import make_platform

LIVE = os.environ.get("INFEROPS_KUBE_LIVE", "").strip() == "1"


@pytest.fixture(scope="session")
def eks_objects(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """What the EKS program registers for eks-prod, rendered once (Pulumi mocks, ≈1 s)."""
    return manifests(make_platform(tmp_path_factory.mktemp("eks-objects")))


@pytest.fixture
def eks(tmp_path: Path) -> Platform:
    return make_platform(tmp_path)


@pytest.fixture
def kube(eks_objects: list[dict[str, Any]], eks: Platform) -> Iterator[KubeApiDouble]:
    double = KubeApiDouble(eks_objects, version=eks.eks.kubernetes_version)
    with double:
        yield double
    violations = double.guard.take()
    assert not violations, "Kubernetes schema violations:\n" + "\n".join(violations)


@pytest.fixture
def k8s(kube: KubeApiDouble, eks: Platform) -> KubernetesTarget:
    """KubernetesTarget on the kubernetes client, aimed at the double with its bearer token."""
    return KubernetesTarget(eks, api_client=api_client(kube))


@pytest.fixture
def read_target(request: pytest.FixtureRequest, eks: Platform) -> KubernetesTarget:
    """`k8s`, or with the live switch a target on the cluster of $KUBECONFIG (read-only tests only)."""
    if not LIVE:
        return request.getfixturevalue("k8s")
    kubeconfig = os.environ.get("KUBECONFIG", "").strip()
    if not kubeconfig:
        pytest.skip("INFEROPS_KUBE_LIVE=1 but KUBECONFIG is not set: no cluster to run the live tests against")
    from kubernetes import config

    context = os.environ.get("INFEROPS_KUBE_CONTEXT") or None
    client = config.new_client_from_config(config_file=kubeconfig.split(os.pathsep)[0], context=context)
    return KubernetesTarget(eks, api_client=client, context=context)
