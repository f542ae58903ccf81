"""The EKS program through the real engine (CLI, Python language host, Kubernetes provider) against
the tier's API server, not render mode: `up` creates every object and the provider waits for the
rollouts, a second `preview` is empty, a one-key change updates only its objects, `destroy`
removes everything but what the program retains.

The test stack `kube-test` is eks-prod's config (without the operator's secrets) with
`eks.kubeconfig`/`eks.context` aimed at the tier's cluster, in a scratch project: stacks/ and
the real state are untouched. Needs the engine tools (`invoke engine.build`) besides Go.
"""

from __future__ import annotations

import copy
import secrets
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.engine.ops import EngineStack, open_stack
from infra.engine.render import scratch_project, without_secrets
from infra.engine.secrets import secret_keys_used
from infra.engine.tools import BIN_DIR, TOOLS
from infra.kube.seed import recycle_volumes
from infra.spec import Platform
from infra.spec.stackconfig import PROJECT, platform_from_config, read_stack_config, stack_file
from tests.kube.conftest import STACK, Cluster
from tests.kube.deploy import namespace_usable, poll
from tests.support.program_oracle import objects_by_name, resource_ops

TEST_STACK = "kube-test"
CHANGE = ("services.inference-chat.replicas", "3")
missing = [t.name for t in TOOLS if not t.binary(BIN_DIR).is_file()]
pytestmark = [
    pytest.mark.skipif(
        bool(missing), reason=f"engine tools not built ({', '.join(missing)}): `invoke engine.build` (needs Go)"
    ),
    # Three `up`s and a `destroy` that wait for real rollouts, on two shared cores: a bound, not a pace.
    pytest.mark.timeout(1500),
]


def test_platform(cluster: Cluster, **overrides: Any) -> Platform:
    """What the engine will build for kube-test: the oracle, from the same config."""
    raw = copy.deepcopy(read_stack_config(STACK))
    raw["eks"] = {**raw["eks"], "kubeconfig": str(cluster.kubeconfig), "context": cluster.context}
    for path, value in overrides.items():
        *parents, leaf = path.split(".")
        node = raw
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return platform_from_config(TEST_STACK, raw, source=f"{TEST_STACK} (tests/kube)")


test_platform.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test


def write_test_stack(project: Path, cluster: Cluster) -> None:
    """stacks/Pulumi.kube-test.yaml: eks-prod's file without secrets, aimed at the tier's cluster."""
    doc = yaml.safe_load(without_secrets(stack_file(STACK).read_text()))
    eks = doc["config"][f"{PROJECT}:eks"]
    eks.update(kubeconfig=str(cluster.kubeconfig), context=cluster.context)
    (project / "stacks" / f"Pulumi.{TEST_STACK}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))


def live(cluster: Cluster, obj: dict[str, Any]) -> Any:
    """The object as the API server has it now, or None when it is gone (404)."""
    from kubernetes import dynamic
    from kubernetes.client.exceptions import ApiException

    client = dynamic.DynamicClient(cluster.api())
    resource = client.resources.get(api_version=obj["apiVersion"], kind=obj["kind"])
    meta = obj["metadata"]
    try:
        return resource.get(name=meta["name"], namespace=meta.get("namespace"))
    except ApiException as err:
        if err.status == 404:
            return None
        raise


def rolled_out(found: Any) -> bool:
    status = found.status or {}
    want = found.spec.replicas
    return (status.get("readyReplicas") or 0) == want and (status.get("updatedReplicas") or 0) == want


@pytest.fixture
def project(tmp_path: Path, cluster: Cluster) -> Path:
    scratch_project(STACK, tmp_path)
    write_test_stack(tmp_path, cluster)
    (tmp_path / "passphrase").write_text(secrets.token_urlsafe(16))
    return tmp_path


def test_up_preview_change_destroy_against_the_api_server(
    cluster: Cluster, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pulumi import automation as auto

    base = test_platform(cluster)
    expected = objects_by_name(base)
    changed = objects_by_name(test_platform(cluster, **{CHANGE[0]: int(CHANGE[1])}))
    want = {name for name, obj in changed.items() if obj != expected.get(name)}
    assert want, "the config change must change at least one object"

    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE_FILE", str(project / "passphrase"))
    stack = open_stack(EngineStack(TEST_STACK, project_dir=project, state_dir=project / "state", bin_dir=BIN_DIR))
    for key in secret_keys_used(base):
        stack.set_config(f"{PROJECT}:{key}", auto.ConfigValue(f"s3cret-{secrets.token_hex(8)}", secret=True))

    api = cluster.api()
    recycle_volumes(api)  # volumes a previous deployment's claims left Released
    for ns in (base.eks.namespaces.inference, base.eks.namespaces.monitoring):
        poll(f"namespace {ns} not terminating", lambda ns=ns: namespace_usable(api, ns), 180)

    # up: every object is in the cluster, and the provider returned only once each rollout was done.
    stack.up(on_output=print)
    absent = [name for name, obj in expected.items() if live(cluster, obj) is None]
    assert not absent, f"up returned but these objects are not in the cluster: {absent}"
    workloads = [o for o in expected.values() if o["kind"] in ("Deployment", "StatefulSet")]
    assert workloads
    pending = [o["metadata"]["name"] for o in workloads if not rolled_out(live(cluster, o))]
    assert not pending, f"up returned before these rollouts finished: {pending}"

    # preview right after up: nothing to do (the provider's diff against the live objects).
    again = stack.preview()
    assert set(again.change_summary) == {"same"}, again.change_summary

    # one key: exactly the objects whose manifest changes are updated, and rolled out.
    stack.set_config(f"{PROJECT}:{CHANGE[0]}", auto.ConfigValue(CHANGE[1]), path=True)
    events: list[Any] = []
    stack.preview(on_event=events.append)
    ops = resource_ops(events)
    assert {name for name, op in ops.items() if op != "same"} == want, ops
    result = stack.up(on_output=print)
    assert result.summary.resource_changes.get("update") == len(want), result.summary.resource_changes
    chat = next(o for o in workloads if o["metadata"]["name"] == "inference-chat")
    found = live(cluster, chat)
    assert found.spec.replicas == int(CHANGE[1]) and rolled_out(found)

    # destroy: everything is gone but the monitoring namespace, which the program retains.
    stack.destroy(on_output=print)
    left = [name for name, obj in expected.items() if live(cluster, obj) is not None]
    assert left == [f"namespace-{base.eks.namespaces.monitoring}"], left
