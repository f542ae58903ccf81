"""Fixtures of the Qdrant runbook tests: the spec-bound Qdrant test double, the rag test double,
a platform pointing at them (QDRANT_URL / RAG_URL, fast retries, a temporary backup location).

The backup location is parametrized over both stores: a temporary directory (`dir`) and a fresh
bucket in the S3 test double (`s3`, moto's server, started once per session), so every scenario
using `platform` runs through both. Tests about filesystems only use `dir_only`.

The spec is parsed once per session; each test gets fresh doubles, and a test fails when the
double saw a request, or gave an answer, that Qdrant's published spec does not allow.

The Kubernetes path (test_restore_k8s.py): `eks_platform` is eks-prod's table with the same test
settings, `kube` the kube API test double seeded with the EKS program's objects (the writer target
is KubernetesTarget on it), and the rag test double follows the rag Deployment's replicas.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from infra.spec import Platform, platform_from_config
from infra.spec.stackconfig import read_stack_config
from tests.doubles.kube_double import KubeApiDouble
from tests.doubles.openapi_binding import load_spec
from tests.doubles.qdrant_double import QdrantDouble
from tests.doubles.rag_double import RagDouble
from tests.doubles.s3_double import S3Double
from tests.support.shared_schemas import SchemaMissing

LIVE_URL = os.environ.get("QDRANT_URL", "").strip()
STORES = ("dir", "s3")
dir_only = pytest.mark.parametrize("store_kind", ["dir"])  # overrides the store_kind fixture
AWS_ENV = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ENDPOINT_URL",
           "AWS_REGION", "AWS_CA_BUNDLE")  # fmt: skip


def vectors(n: int, dim: int = 8, salt: str = "") -> list[list[float]]:
    """Deterministic, distinct vectors (no ties in nearest-neighbour order)."""
    from tests.doubles.rag_double import embed

    return [embed(f"{salt}point-{i}", dim) for i in range(n)]


@pytest.fixture(scope="session")
def qdrant_spec() -> Any:
    try:
        return load_spec()
    except SchemaMissing as err:  # ../shared is part of the test setup: missing, the run must fail
        pytest.fail(str(err))


@pytest.fixture
def qdrant(qdrant_spec: Any, tmp_path: Path) -> Iterator[QdrantDouble]:
    double = QdrantDouble(tmp_path / "qdrant-double-snapshots", qdrant_spec)
    with double:
        yield double
    violations = double.guard.take()
    assert not violations, "Qdrant spec violations:\n" + "\n".join(map(str, violations))


@pytest.fixture
def rag(qdrant: QdrantDouble) -> Iterator[RagDouble]:
    with RagDouble(qdrant.url) as double:
        yield double


@pytest.fixture(scope="session")
def s3_double() -> Iterator[S3Double]:
    double = S3Double()
    double.start()
    yield double
    double.stop()


@pytest.fixture(params=STORES)
def store_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def use_s3_double(double: S3Double, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point the standard AWS chain at the double, and only at it (no profile, no real credentials)."""
    for name in AWS_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    for name, value in double.env().items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def backup_location(store_kind: str, tmp_path: Path, request: pytest.FixtureRequest,
                    monkeypatch: pytest.MonkeyPatch) -> str:  # fmt: skip
    """A temporary directory, or `s3://<fresh bucket>/qdrant` in the S3 test double."""
    if store_kind == "dir":
        return str(tmp_path / "backups")
    double: S3Double = request.getfixturevalue("s3_double")
    use_s3_double(double, tmp_path, monkeypatch)
    return f"s3://{double.new_bucket()}/qdrant"


def make_platform(
    tmp_path: Path, rag: bool = True, stack: str = "gpu-host", alertmanager_port: int | None = None, **backup: Any
) -> Platform:
    """`stack`'s table (gpu-host, eks-prod: qdrant and rag enabled) with instant retries and a
    temporary backup location; an eks kubeconfig that does not exist (no machine state leaks in).
    Drill silences are off unless `alertmanager_port` names the test's own Alertmanager on
    loopback (the stack's would be an operator's, or a live stack's)."""
    raw = copy.deepcopy(read_stack_config(stack))
    if alertmanager_port is None:
        raw["drills"] = {**(raw.get("drills") or {}), "silence": False}
    else:
        raw["accessHost"] = "127.0.0.1"
        raw["drills"] = {**(raw.get("drills") or {}), "silence": True, "silence_clear_s": 0}
        services = raw.setdefault("services", {})
        services["alertmanager"] = {**(services.get("alertmanager") or {}), "host_port": alertmanager_port}
    if "eks" in raw:
        raw["eks"] = {**raw["eks"], "kubeconfig": str(tmp_path / "no-kubeconfig")}
    if not rag:
        raw["services"] = {**(raw.get("services") or {}), "rag": {"enabled": False}}
    raw["tuning"] = {**(raw.get("tuning") or {}), "QDRANT_MAX_RETRIES": 2, "QDRANT_RETRY_MIN_WAIT": 0,
                     "QDRANT_RETRY_MAX_WAIT": 0.05, "QDRANT_TIMEOUT": 10}  # fmt: skip
    raw["backup"] = {"location": str(tmp_path / "backups"), "keep_last": 2, "green_timeout_s": 10, **backup}
    return platform_from_config(stack, raw, source="test")


@pytest.fixture
def platform(tmp_path: Path, qdrant: QdrantDouble, rag: RagDouble, backup_location: str,
             monkeypatch: pytest.MonkeyPatch) -> Platform:  # fmt: skip
    monkeypatch.setenv("QDRANT_URL", qdrant.url)
    monkeypatch.setenv("RAG_URL", rag.url)
    monkeypatch.setenv("INFEROPS_RUNS_DIR", str(tmp_path / "runs"))
    return make_platform(tmp_path, location=backup_location)


@pytest.fixture
def docs(qdrant: QdrantDouble) -> str:
    """A seeded collection `docs` of 20 points."""
    qdrant.seed("docs", vectors(20))
    return "docs"


# ---- the Kubernetes target (eks-prod) --------------------------------------------------------------
RAG_REPLICAS = 2  # scaled by hand before the restore; the stack says 1, so "back to 2" uses the annotation


@pytest.fixture(scope="session")
def eks_objects(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """What the EKS program registers for eks-prod, rendered once (Pulumi mocks, ≈1 s)."""
    from infra.targets.k8s.render import manifests

    return manifests(make_platform(tmp_path_factory.mktemp("eks-objects"), stack="eks-prod"))


@pytest.fixture
def eks_platform(tmp_path: Path, qdrant: QdrantDouble, rag: RagDouble, monkeypatch: pytest.MonkeyPatch) -> Platform:
    """eks-prod, Qdrant and rag reached through an operator's port-forwards (here: the doubles)."""
    monkeypatch.setenv("QDRANT_URL", qdrant.url)
    monkeypatch.setenv("RAG_URL", rag.url)
    monkeypatch.setenv("INFEROPS_RUNS_DIR", str(tmp_path / "runs"))
    return make_platform(tmp_path, stack="eks-prod")


@pytest.fixture
def kube(eks_objects: list[dict[str, Any]], eks_platform: Platform, rag: RagDouble) -> Iterator[KubeApiDouble]:
    """The kube API test double with rag at RAG_REPLICAS; the rag double answers 503 at 0 replicas."""
    double = KubeApiDouble(eks_objects, version=eks_platform.eks.kubernetes_version)
    double.set_replicas("rag", RAG_REPLICAS)
    double.scales.clear()
    rag.replicas = RAG_REPLICAS
    double.on_replicas(rag.on_scale)
    with double:
        yield double
    violations = double.guard.take()
    assert not violations, "Kubernetes schema violations:\n" + "\n".join(violations)
