"""The watch's EKS objects on the tier's API server: admitted as rendered, and its ServiceAccount's
Role enforced by the real RBAC authorizer. The watch's Kubernetes target, acting as that account
(impersonation, as `kubectl --as` does), reads every workload it checks and is refused a scale.

kwok runs no container, so the watch's cycles themselves stay on the Docker host's live tier
(tests/live/test_watch_service_live.py); what only a cluster can show is here.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from infra.render.watch import WATCH_SERVICE
from runbooks.targets.base import TargetError
from runbooks.targets.k8s_target import KubernetesTarget
from runbooks.watch.checks import watched
from tests.kube.conftest import Cluster, platform_on
from tests.kube.deploy import FIELD_MANAGER, resource

pytestmark = pytest.mark.timeout(300)
MARKER = "kube-tier-secret"


@pytest.fixture
def watch_objects(cluster: Cluster, deployed: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    """The watch's objects applied into the deployed stack's namespace; deleted after."""
    from infra.targets.k8s.watch import watch_objects as render

    platform = platform_on(cluster.kubeconfig, cluster.context, **{f"services.{WATCH_SERVICE}.enabled": True})
    api = cluster.api()
    objects = render(platform, _Markers())
    try:
        for obj in objects:
            meta = obj["metadata"]
            resource(api, obj).server_side_apply(
                body=obj, name=meta["name"], namespace=meta["namespace"], field_manager=FIELD_MANAGER
            )
        yield objects
    finally:
        for obj in reversed(objects):
            meta = obj["metadata"]
            resource(api, obj).delete(name=meta["name"], namespace=meta["namespace"])


class _Markers(dict[str, str]):
    """Every secret the objects ask for, as a marker value (no operator secret in the tier)."""

    def __missing__(self, key: str) -> str:
        return MARKER


def _as_watch(cluster: Cluster, namespace: str) -> Any:
    from infra.kube.ops import api_client

    api = api_client(cluster.kubeconfig, cluster.context)
    api.set_default_header("Impersonate-User", f"system:serviceaccount:{namespace}:{WATCH_SERVICE}")
    return api


def test_the_api_server_admits_every_watch_object(watch_objects: list[dict[str, Any]], cluster: Cluster) -> None:
    api = cluster.api()
    kinds = set()
    for obj in watch_objects:
        meta = obj["metadata"]
        found = resource(api, obj).get(name=meta["name"], namespace=meta["namespace"])
        assert found.metadata.name == meta["name"]
        kinds.add(obj["kind"])
    assert {"ServiceAccount", "Role", "RoleBinding", "Deployment", "ServiceMonitor"} <= kinds
    deploy = next(o for o in watch_objects if o["kind"] == "Deployment")
    live = resource(api, deploy).get(name=WATCH_SERVICE, namespace=deploy["metadata"]["namespace"])
    assert live.spec.template.spec.serviceAccountName == WATCH_SERVICE
    assert live.spec.strategy.type == "Recreate"


def test_its_account_reads_every_workload_it_watches_and_may_not_scale(
    watch_objects: list[dict[str, Any]], cluster: Cluster
) -> None:
    platform = cluster.platform
    ns = platform.eks.namespaces.inference
    target = KubernetesTarget(platform, api_client=_as_watch(cluster, ns))
    for svc in watched(platform):
        assert target.state(svc.name).status != "missing", svc.name
    admin = KubernetesTarget(platform, api_client=cluster.api())
    before = admin.state("inference-code")
    with pytest.raises(TargetError, match="403"):
        target.stop("inference-code")
    assert admin.state("inference-code") == before, "the refused scale changed nothing"
