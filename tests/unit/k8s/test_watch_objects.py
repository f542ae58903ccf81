"""The watch on EKS: the `watch` row as a one-writer Deployment with a read-only ServiceAccount,
its state on a claim, its platform as a ConfigMap, scraped by a ServiceMonitor; every object
valid for the cluster (kubernetes-validate strict, the operators' CRDs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.render.watch import WATCH_SERVICE
from infra.spec import Platform, platform_from_config
from infra.spec.defaults import HOST_ROOT_ENV, PLATFORM_FILE_ENV
from tests.support.k8s_schemas import check_objects
from tests.unit.k8s.conftest import TEST_SECRETS, Objects, eks_raw, run_program

NS = "inference"
SLACK = {"name": "chat", "kind": "slack"}


def _platform(tmp_path: Path) -> Platform:
    raw = eks_raw(tmp_path)
    raw["services"] = {**raw.get("services", {}), WATCH_SERVICE: {"enabled": True}}
    raw["watch"] = {"receivers": [SLACK]}
    return platform_from_config("eks-prod", raw, source="test")


@pytest.fixture
def watched(tmp_path: Path) -> tuple[Platform, Objects]:
    platform = _platform(tmp_path)
    return platform, run_program(platform)[0]


def _watch(objects: Objects) -> dict[str, dict]:
    return {k.split("/")[0]: v for k, v in objects.items() if k.endswith(f"/{NS}/{WATCH_SERVICE}")}


def test_off_by_default(objects: Objects) -> None:
    assert not _watch(objects)


def test_every_watch_object_validates(watched, crd_validator) -> None:
    platform, objects = watched
    mine = {k: v for k, v in objects.items() if k.split("/")[-1] in (WATCH_SERVICE, f"{WATCH_SERVICE}-data")}
    mine |= {k: v for k, v in objects.items() if k.split("/")[-1].startswith(f"{WATCH_SERVICE}-")}
    counted = check_objects(mine, platform.eks.kubernetes_version, crd_validator)
    assert set(counted) >= {"ServiceAccount", "Role", "RoleBinding", "PersistentVolumeClaim", "ConfigMap",
                            "Secret", "Deployment", "Service", "ServiceMonitor"}  # fmt: skip


def test_one_writer_with_its_own_account_and_state_on_a_claim(watched) -> None:
    _, objects = watched
    deploy = _watch(objects)["Deployment"]["spec"]
    assert deploy["replicas"] == 1 and deploy["strategy"] == {"type": "Recreate"}
    pod = deploy["template"]["spec"]
    assert pod["serviceAccountName"] == WATCH_SERVICE
    (container,) = pod["containers"]
    assert container["args"] == ["runbook.watch", "--loop", "--stack", "eks-prod"]
    claims = [v["persistentVolumeClaim"]["claimName"] for v in pod["volumes"] if "persistentVolumeClaim" in v]
    assert claims == [f"{WATCH_SERVICE}-data"] and f"PersistentVolumeClaim/{NS}/{WATCH_SERVICE}-data" in objects
    assert not any("hostPath" in v or "emptyDir" in v for v in pod["volumes"]), "no Docker socket, no host disk"
    names = {e["name"] for e in container["env"]}
    assert PLATFORM_FILE_ENV in names and HOST_ROOT_ENV not in names


def test_the_account_reads_and_never_writes(watched) -> None:
    _, objects = watched
    role = _watch(objects)["Role"]
    assert {v for rule in role["rules"] for v in rule["verbs"]} == {"get", "list"}
    binding = _watch(objects)["RoleBinding"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": WATCH_SERVICE, "namespace": NS}]


def test_the_platform_it_reads_is_seen_from_inside_the_namespace(watched) -> None:
    _, objects = watched
    data = objects[f"ConfigMap/{NS}/{WATCH_SERVICE}-config"]["data"]["platform.json"]
    inside = Platform.model_validate_json(data)
    assert inside.vantage == "stack-network" and inside.target == "eks"
    assert inside.url(inside.service("api-gateway"), "/health") == "http://api-gateway:8000/health"


def test_its_receiver_secret_comes_from_pulumi_config(watched) -> None:
    _, objects = watched
    secret = objects[f"Secret/{NS}/{WATCH_SERVICE}-secrets"]
    assert secret["stringData"] == {"alertSlackWebhookUrl": TEST_SECRETS["alertSlackWebhookUrl"]}
    env = {e["name"]: e for e in _watch(objects)["Deployment"]["spec"]["template"]["spec"]["containers"][0]["env"]}
    ref = env["INFEROPS_ALERTSLACKWEBHOOKURL"]["valueFrom"]["secretKeyRef"]
    assert ref == {"name": f"{WATCH_SERVICE}-secrets", "key": "alertSlackWebhookUrl"}
    assert TEST_SECRETS["alertSlackWebhookUrl"] not in str(objects[f"ConfigMap/{NS}/{WATCH_SERVICE}-config"])
