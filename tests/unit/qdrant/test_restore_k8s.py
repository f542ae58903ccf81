"""runbook.qdrant-restore through the Kubernetes target (eks-prod): the writer rag is held by scaling
its Deployment to 0 in the kube API test double (KubernetesTarget on the real kubernetes client),
Qdrant and rag are reached through their port-forwards (here: the Qdrant and rag test doubles).

Happy path (rag at 0 for the whole copy → recover → verify, then back to its replicas), failed
recover (rollback to the pre-restore copy, then rag back), no rag Deployment (nothing changed),
Ctrl-C mid-upload and Ctrl-C while the hold waits for rag's pods to go (rag back either way).
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Iterator

import pytest

from infra.spec.model import Platform
from runbooks.framework.record import RunRecord
from runbooks.targets.k8s_target import REPLICAS_ANNOTATION, KubernetesTarget
from tests.doubles.kube_double import KubeApiDouble, api_client
from tests.doubles.qdrant_double import QdrantDouble
from tests.doubles.rag_double import RagDouble
from tests.unit.qdrant.conftest import RAG_REPLICAS, vectors
from tests.unit.qdrant.scenarios import run_backup, run_restore, step

UPLOAD = "/snapshots/upload"


@pytest.fixture
def k8s(kube: KubeApiDouble, eks_platform: Platform) -> KubernetesTarget:
    return KubernetesTarget(eks_platform, api_client=api_client(kube))


@pytest.fixture
def marks(kube: KubeApiDouble, qdrant: QdrantDouble) -> list[tuple[int, int]]:
    """(rag replicas, Qdrant requests seen so far) at every scale of rag: orders the two doubles."""
    out: list[tuple[int, int]] = []
    kube.on_replicas(lambda kind, name, n: name == "rag" and out.append((n, len(qdrant.requests))))
    return out


@pytest.fixture
def lost(eks_platform: Platform, qdrant: QdrantDouble, docs: str) -> Iterator[str]:
    """`docs` backed up (20 points), then data loss: 3 other points."""
    assert run_backup(eks_platform).exit_code == 0
    qdrant.collections.pop(docs)
    qdrant.seed(docs, vectors(3, salt="after-loss"))
    yield docs


def _rag_is_back(kube: KubeApiDouble, rag: RagDouble) -> None:
    deployment = kube.workload("rag")
    assert deployment["spec"]["replicas"] == RAG_REPLICAS == len(kube.pods_of("rag")) == rag.replicas
    assert REPLICAS_ANNOTATION not in deployment["metadata"].get("annotations", {})


def _interrupt_when(seen: Callable[[], bool]) -> threading.Thread:
    """SIGINT to this process once `seen()` is true (the runbook runs in the main thread)."""

    def watch() -> None:
        for _ in range(400):
            if seen():
                os.kill(os.getpid(), signal.SIGINT)
                return
            threading.Event().wait(0.01)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def _changes_data(method: str, path: str) -> bool:
    """Snapshot create/upload/delete and collection PUT/DELETE (query, scroll, count POST are reads)."""
    return method in ("PUT", "DELETE") or (method == "POST" and "/snapshots" in path)


def _restore(eks_platform: Platform, k8s: KubernetesTarget, docs: str) -> RunRecord:
    return run_restore(eks_platform, k8s, docs)


def test_restore_holds_rag_at_zero_replicas_and_scales_it_back(
    eks_platform: Platform, k8s: KubernetesTarget, kube: KubeApiDouble, qdrant: QdrantDouble, rag: RagDouble,
    lost: str, marks: list[tuple[int, int]],
) -> None:  # fmt: skip
    start = len(qdrant.requests)
    record = _restore(eks_platform, k8s, lost)
    assert record.exit_code == 0, record.error
    assert len(qdrant.collections[lost].points) == 20 and step(record, "verify").detail["points_count"] == 20
    assert kube.scales == [("Deployment", "rag", 0), ("Deployment", "rag", RAG_REPLICAS)]
    # every change to Qdrant (pre-restore snapshot, its cleanup, the upload) came while rag was at 0
    [(zero, held_at), (back, released_at)] = marks
    changes = [i for i, (m, p) in enumerate(qdrant.requests) if i >= start and _changes_data(m, p)]
    assert (zero, back) == (0, RAG_REPLICAS) and changes and held_at <= min(changes) and max(changes) < released_at
    assert any(UPLOAD in qdrant.requests[i][1] for i in changes)
    assert step(record, "hold writers").detail["where"] == "Kubernetes namespace 'inference' (context eks-prod)"
    assert step(record, "rag health").status == "ok"
    _rag_is_back(kube, rag)


def test_failed_recover_rolls_back_and_scales_rag_back(
    eks_platform: Platform, k8s: KubernetesTarget, kube: KubeApiDouble, qdrant: QdrantDouble, rag: RagDouble,
    lost: str,
) -> None:  # fmt: skip
    before = set(qdrant.collections[lost].points)
    qdrant.faults.fail_recover = 1
    record = _restore(eks_platform, k8s, lost)
    assert record.exit_code == 1 and step(record, "recover").status == "failed"
    assert [(r.name, r.status) for r in record.rollbacks if r.kind == "rollback"] == [
        (f"recover {lost!r} from the pre-restore copy", "ok"),
        ("release rag", "ok"),
    ]
    assert set(qdrant.collections[lost].points) == before
    assert kube.scales == [("Deployment", "rag", 0), ("Deployment", "rag", RAG_REPLICAS)]
    _rag_is_back(kube, rag)


def test_no_rag_deployment_is_a_clear_error_and_changes_nothing(
    eks_platform: Platform, k8s: KubernetesTarget, kube: KubeApiDouble, qdrant: QdrantDouble, lost: str
) -> None:
    kube.remove("rag")
    start = len(qdrant.requests)
    record = _restore(eks_platform, k8s, lost)
    assert record.exit_code == 1
    assert "cannot hold the writer 'rag': no Deployment or StatefulSet 'rag' in Kubernetes namespace" in record.error
    assert "nothing was changed" in record.error
    assert len(qdrant.collections[lost].points) == 3
    assert not any(_changes_data(m, p) for m, p in qdrant.requests[start:])  # no copy, no upload
    assert kube.scales == [] and not any(m == "PATCH" for m, _ in kube.requests)
    assert not [r for r in record.rollbacks if r.kind == "rollback" and r.status != "skipped"]


def test_ctrl_c_mid_upload_rolls_back_and_scales_rag_back(
    eks_platform: Platform, k8s: KubernetesTarget, kube: KubeApiDouble, qdrant: QdrantDouble, rag: RagDouble,
    lost: str,
) -> None:  # fmt: skip
    qdrant.faults.delay_s["recover_from_uploaded_snapshot"] = 1.0
    watcher = _interrupt_when(lambda: any(UPLOAD in p for _, p in qdrant.requests))
    record = _restore(eks_platform, k8s, lost)
    watcher.join()
    qdrant.faults.delay_s.clear()
    assert record.exit_code == 1 and step(record, "recover").status == "interrupted"
    assert len(qdrant.collections[lost].points) == 3
    assert kube.scales[-1] == ("Deployment", "rag", RAG_REPLICAS)
    _rag_is_back(kube, rag)


def test_ctrl_c_while_the_hold_waits_for_the_pods_scales_rag_back(
    eks_platform: Platform, k8s: KubernetesTarget, kube: KubeApiDouble, qdrant: QdrantDouble, rag: RagDouble,
    lost: str,
) -> None:  # fmt: skip
    kube.linger = 10**6  # rag's pods stay terminating: the hold keeps waiting
    watcher = _interrupt_when(lambda: ("Deployment", "rag", 0) in kube.scales)
    start = len(qdrant.requests)
    record = _restore(eks_platform, k8s, lost)
    watcher.join()
    assert record.exit_code == 1 and step(record, "hold writers").status == "interrupted"
    assert not any(_changes_data(m, p) for m, p in qdrant.requests[start:])
    assert kube.scales == [("Deployment", "rag", 0), ("Deployment", "rag", RAG_REPLICAS)]
    _rag_is_back(kube, rag)
