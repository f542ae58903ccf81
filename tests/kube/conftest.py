"""The kube tier: a real control plane (etcd, kube-apiserver, controller-manager, scheduler, kwok)
started once per session in a tmp dir, seeded like an EKS cluster for eks-prod (kwok nodes shaped
like its NodePools, the Karpenter and prometheus-operator CRDs, storage, the monitoring namespace).

Against a real cluster instead: `INFEROPS_KUBE_KUBECONFIG=<path>` (and `INFEROPS_KUBE_CONTEXT`):
nothing is started or seeded, the cluster must have the CRDs and the nodes (docs/eks.md); tests
that create kwok nodes are skipped there.

Without Go (and without a kubeconfig) the tier is skipped with the reason: the binaries are built
from Go modules (`invoke kube.build`).
"""

from __future__ import annotations

import copy
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from infra.kube.plane import CONTEXT, ControlPlane
from infra.spec import Platform, platform_from_config
from infra.spec.stackconfig import read_stack_config

STACK = "eks-prod"
EXTERNAL = os.environ.get("INFEROPS_KUBE_KUBECONFIG", "").strip()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    mine = [i for i in items if here in Path(str(i.path)).parents]
    if EXTERNAL or shutil.which("go") or not mine:
        return
    skip = pytest.mark.skip(
        reason="the kube tier needs Go (the control plane is built from Go modules: `invoke kube.build`) "
        "or INFEROPS_KUBE_KUBECONFIG naming a real cluster; `go` is not on PATH"
    )
    for item in mine:
        item.add_marker(skip)


@dataclass(frozen=True)
class Cluster:
    """Where the tier's API server is, and the eks-prod platform aimed at it."""

    kubeconfig: Path
    context: str
    platform: Platform
    plane: ControlPlane | None  # None: a real cluster (INFEROPS_KUBE_KUBECONFIG)

    def api(self) -> Any:
        from infra.kube.ops import api_client

        return api_client(self.kubeconfig, self.context)


def platform_on(kubeconfig: Path, context: str, **overrides: Any) -> Platform:
    """eks-prod with its kubeconfig and context pointing at the tier's cluster."""
    raw = copy.deepcopy(read_stack_config(STACK))
    raw["eks"] = {**raw["eks"], "kubeconfig": str(kubeconfig), "context": context}
    for path, value in overrides.items():
        *parents, leaf = path.split(".")
        node = raw
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return platform_from_config(STACK, raw, source=f"stacks/Pulumi.{STACK}.yaml")


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    if EXTERNAL:
        context = os.environ.get("INFEROPS_KUBE_CONTEXT", "").strip() or _current_context(Path(EXTERNAL))
        yield Cluster(Path(EXTERNAL), context, platform_on(Path(EXTERNAL), context), None)
        return
    from infra.kube.ops import kube_up

    state = tmp_path_factory.mktemp("kube")
    base = platform_on(state / "kubeconfig", CONTEXT)
    plane = kube_up(base, state_dir=state)
    try:
        yield Cluster(plane.kubeconfig, CONTEXT, base, plane)
    finally:
        plane.down()


def _current_context(kubeconfig: Path) -> str:
    import yaml

    return str(yaml.safe_load(kubeconfig.read_text()).get("current-context") or "")


@pytest.fixture
def local(cluster: Cluster) -> ControlPlane:
    """The local control plane; tests that need kwok or its logs skip on a real cluster."""
    if cluster.plane is None:
        pytest.skip("needs the local control plane (kwok nodes), not INFEROPS_KUBE_KUBECONFIG's cluster")
    return cluster.plane


@pytest.fixture(scope="session")
def deployed(cluster: Cluster) -> Iterator[list[dict[str, Any]]]:
    """The program's objects applied once for the target and runbook tests (tests/kube/deploy.py);
    tests that change a workload put it back as they found it."""
    from tests.kube.deploy import apply_stack, remove_stack

    api = cluster.api()
    objects = apply_stack(api, cluster.platform)
    yield objects
    remove_stack(api, cluster.platform)


@pytest.fixture
def stacks(cluster: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of eks-prod's stack file aimed at the tier's cluster, as STACKS_DIR (stacks/ untouched)."""
    import yaml

    from infra.spec import stackconfig

    directory = tmp_path / "stacks"
    directory.mkdir()
    shutil.copy(stackconfig.STACKS_DIR / f"Pulumi.{STACK}.yaml", directory)
    path = directory / f"Pulumi.{STACK}.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["config"]["inferops:eks"].update(kubeconfig=str(cluster.kubeconfig), context=cluster.context)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    monkeypatch.setattr(stackconfig, "STACKS_DIR", directory)
    monkeypatch.setenv("INFEROPS_RUNS_DIR", str(tmp_path / "runs"))
    return path
