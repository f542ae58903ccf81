"""runbook.qdrant-restore with its writer held on the real control plane: rag's Deployment scaled to
0 by the Deployment controller and its pods gone before the copy, scaled back after. Qdrant and rag
are reached as through an operator's port-forwards, here their spec-bound doubles (the Qdrant side
is tested there: tests/unit/qdrant); the point is the hold on a real API server, whose controllers
record the scaling as events.
"""

from __future__ import annotations

from typing import Any

import pytest

from infra.spec.model import Platform
from runbooks.targets.k8s_target import REPLICAS_ANNOTATION, KubernetesTarget
from tests.doubles.qdrant_double import QdrantDouble
from tests.kube.conftest import Cluster
from tests.kube.deploy import poll, rolled_out
from tests.unit.qdrant.conftest import docs, eks_platform, qdrant, qdrant_spec, rag, vectors  # noqa: F401
from tests.unit.qdrant.scenarios import run_backup, run_restore, step

pytestmark = pytest.mark.timeout(600)


def replicas_history(cluster: Cluster, namespace: str, since: str, until: str) -> list[int]:
    """rag's spec.replicas at every change between two resourceVersions, replayed by a watch from
    the API server's watch cache (complete and in order, not sampled)."""
    from kubernetes import client, watch

    apps = client.AppsV1Api(cluster.api())
    seen: list[int] = []
    stream = watch.Watch().stream(
        apps.list_namespaced_deployment,
        namespace,
        field_selector="metadata.name=rag",
        resource_version=since,
        timeout_seconds=60,
    )
    for event in stream:
        obj = event["object"]
        if not seen or seen[-1] != obj.spec.replicas:
            seen.append(obj.spec.replicas)
        if obj.metadata.resource_version == until:
            break
    return seen


def test_restore_holds_rag_on_the_control_plane_and_scales_it_back(
    cluster: Cluster,
    deployed: list[dict[str, Any]],
    eks_platform: Platform,  # noqa: F811
    qdrant: QdrantDouble,  # noqa: F811
    docs: str,  # noqa: F811
) -> None:
    ns = eks_platform.eks.namespaces.inference
    target = KubernetesTarget(eks_platform, api_client=cluster.api(), context=cluster.context)
    _, before = target.workload("rag")
    assert run_backup(eks_platform).exit_code == 0
    qdrant.collections.pop(docs)
    qdrant.seed(docs, vectors(3, salt="after-loss"))

    record = run_restore(eks_platform, target, docs)

    assert record.exit_code == 0, record.error
    assert len(qdrant.collections[docs].points) == 20
    assert step(record, "hold writers").detail["where"] == f"Kubernetes namespace {ns!r} (context {cluster.context})"
    writer = next(o for o in deployed if o["kind"] == "Deployment" and o["metadata"]["name"] == "rag")
    poll("rag rolled out again", lambda: rolled_out(cluster.api(), writer), 120)
    _, after = target.workload("rag")
    assert after.spec.replicas == before.spec.replicas
    assert REPLICAS_ANNOTATION not in (after.metadata.annotations or {})
    # Every change the API server saw: rag at its replicas, 0 for the copy, back; nothing else.
    history = replicas_history(cluster, ns, before.metadata.resource_version, after.metadata.resource_version)
    assert history == [before.spec.replicas, 0, before.spec.replicas], history
