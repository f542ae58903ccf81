"""The control plane's process handling and seeding, without the binaries: `down` stops exactly the
processes `up` recorded (a recycled pid running something else is left alone), and the kwok nodes
and storage are shaped from the stack's config."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.kube.plane import ControlPlane, is_ours
from infra.kube.seed import GPU_PRESENT, NODEPOOL_LABEL, cluster_objects, node_objects
from infra.spec import Platform
from infra.targets.k8s.pods import GPU_RESOURCE
from tests.unit.k8s.conftest import make_platform


@pytest.fixture
def plane(tmp_path: Path) -> Iterator[ControlPlane]:
    """A plane whose `etcd` is /bin/sleep under that name (argv[0] is the path it was started as)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "etcd").symlink_to("/bin/sleep")
    cp = ControlPlane(tmp_path / "state", bin_dir=bin_dir, say=lambda _: None)
    cp.state_dir.mkdir()
    cp.logs.mkdir()
    cp.record.write_text(json.dumps({"ports": {}, "processes": {}}))
    yield cp
    cp.down()


@pytest.fixture
def bystander() -> Iterator[subprocess.Popen]:
    proc = subprocess.Popen(["sleep", "300"])
    yield proc
    proc.kill()
    proc.wait()


def test_down_stops_what_up_started_and_nothing_else(plane: ControlPlane, bystander: subprocess.Popen) -> None:
    plane.spawn("etcd", [str(plane.bin_dir / "etcd"), "300"])
    assert plane.status() == {"etcd": f"running (pid {plane.processes()['etcd']['pid']})"}
    assert plane.down() == ["etcd"]
    assert not plane.running() and not plane.record.exists()
    assert bystander.poll() is None, "a process kube.up did not start was stopped"


def test_a_process_just_spawned_is_seen_as_ours(plane: ControlPlane) -> None:
    """Right after Popen the kernel may not have set the new argv up yet (/proc shows an empty
    command line, here about one spawn in ten): `spawn` returns only once the check can see it,
    else `up`'s readiness wait took a starting API server for a dead one and stopped its etcd."""
    for _ in range(100):
        plane.spawn("etcd", [str(plane.bin_dir / "etcd"), "300"])
        assert plane.status()["etcd"].startswith("running"), "a process spawned a moment ago looked dead"
        assert plane.down() == ["etcd"]
        plane.record.write_text(json.dumps({"ports": {}, "processes": {}}))


def test_a_recorded_pid_that_now_runs_something_else_is_not_ours(
    plane: ControlPlane, bystander: subprocess.Popen
) -> None:
    data = {"ports": {}, "processes": {"etcd": {"pid": bystander.pid, "cmdline": [str(plane.bin_dir / "etcd")]}}}
    plane.record.write_text(json.dumps(data))
    assert not is_ours(bystander.pid, [str(plane.bin_dir / "etcd")])
    assert plane.down() == []
    assert bystander.poll() is None


def test_a_binary_not_built_is_missing_with_the_command_to_run(plane: ControlPlane) -> None:
    from infra.errors import Missing

    with pytest.raises(Missing, match=r"invoke kube\.build"):
        plane.spawn("kwok", [str(plane.bin_dir / "kwok")])


@pytest.fixture
def eks(tmp_path: Path) -> Platform:
    return make_platform(tmp_path)


def test_one_node_per_zone_and_pool_shaped_like_the_node_pools(eks: Platform) -> None:
    nodes = node_objects(eks)
    pools = eks.eks
    gpu = [n for n in nodes if n["metadata"]["labels"][NODEPOOL_LABEL] == pools.gpu_pool.name]
    cpu = [n for n in nodes if n["metadata"]["labels"][NODEPOOL_LABEL] == pools.cpu_pool.name]
    assert [n["metadata"]["labels"]["topology.kubernetes.io/zone"] for n in gpu] == list(pools.zone_list)
    assert len(cpu) == len(pools.zone_list)
    for node in gpu:
        labels = node["metadata"]["labels"]
        assert labels["node.kubernetes.io/instance-type"] == pools.gpu_pool.instance_types[0] == "p4d.24xlarge"
        assert labels[GPU_PRESENT] == "true" and node["status"]["capacity"][GPU_RESOURCE] == "8"
        assert node["spec"]["taints"] == [{"key": GPU_RESOURCE, "value": "true", "effect": "NoSchedule"}]
        assert node["metadata"]["annotations"] == {"kwok.x-k8s.io/node": "fake"}
    for node in cpu:
        assert node["metadata"]["labels"]["karpenter.k8s.aws/instance-family"] in pools.cpu_pool.instance_families
        assert GPU_RESOURCE not in node["status"]["capacity"] and "taints" not in node["spec"]


def test_storage_classes_and_volumes_for_the_claims_the_stack_makes(eks: Platform) -> None:
    objs = cluster_objects(eks)
    classes = {o["metadata"]["name"] for o in objs if o["kind"] == "StorageClass"}
    assert classes == {eks.eks.model_cache.storage_class, eks.eks.qdrant_storage_class}
    cache = [o for o in objs if o["kind"] == "PersistentVolume" and o["spec"]["storageClassName"] == "efs-sc"]
    assert cache and all(v["spec"]["accessModes"] == ["ReadWriteMany"] for v in cache)
    assert cache[0]["spec"]["capacity"]["storage"] == f"{eks.eks.model_cache.size_gib}Gi"
