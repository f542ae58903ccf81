"""Karpenter v1 NodePools and EC2NodeClasses from the `eks` config section."""

from __future__ import annotations

from tests.unit.k8s.conftest import Objects, make_platform, run_program


def _reqs(pool: dict) -> dict[str, list[str]]:
    return {r["key"]: r["values"] for r in pool["spec"]["template"]["spec"]["requirements"] if r["operator"] == "In"}


def test_gpu_node_pool(objects: Objects, platform) -> None:
    eks = platform.eks
    gpu = objects[f"NodePool/{eks.gpu_pool.name}"]
    reqs = _reqs(gpu)
    assert reqs["node.kubernetes.io/instance-type"] == list(eks.gpu_pool.instance_types)
    assert reqs["topology.kubernetes.io/zone"] == list(eks.zone_list) and len(eks.zone_list) >= 3
    assert all(z.startswith(eks.region) for z in reqs["topology.kubernetes.io/zone"])
    assert reqs["karpenter.sh/capacity-type"] == ["spot", "on-demand"]
    template = gpu["spec"]["template"]["spec"]
    assert template["taints"] == [{"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}]
    assert template["expireAfter"] == eks.gpu_pool.expire_after
    assert template["nodeClassRef"] == {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": eks.gpu_pool.name}
    assert gpu["spec"]["limits"] == {"nvidia.com/gpu": eks.gpu_pool.gpu_limit}
    d = gpu["spec"]["disruption"]
    assert d["consolidationPolicy"] == "WhenEmptyOrUnderutilized"
    assert d["consolidateAfter"] == eks.gpu_pool.disruption.consolidate_after
    assert [b["nodes"] for b in d["budgets"]] == [b.nodes for b in eks.gpu_pool.disruption.budgets]


def test_gpu_pods_land_on_the_gpu_pool_and_others_on_cpu(objects: Objects, platform) -> None:
    pools = {}
    for obj in objects.values():
        if obj["kind"] in ("Deployment", "StatefulSet"):
            spec = obj["spec"]["template"]["spec"]
            term = spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
            (pool,) = term["nodeSelectorTerms"][0]["matchExpressions"][0]["values"]
            pools[obj["metadata"]["name"]] = pool
            # every pod that tolerates the GPU taint asks for a GPU, and the reverse
            has_gpu = "nvidia.com/gpu" in spec["containers"][0].get("resources", {}).get("limits", {})
            assert has_gpu == ("tolerations" in spec)
    for name, pool in pools.items():
        expected = platform.eks.gpu_pool.name if platform.service(name).gpu.count else platform.eks.cpu_pool.name
        assert pool == expected
    assert f"NodePool/{platform.eks.cpu_pool.name}" in objects


def test_cpu_node_pool(objects: Objects, platform) -> None:
    cpu_pool = platform.eks.cpu_pool
    cpu = objects[f"NodePool/{cpu_pool.name}"]
    assert _reqs(cpu)["karpenter.k8s.aws/instance-family"] == list(cpu_pool.instance_families)
    assert "taints" not in cpu["spec"]["template"]["spec"]
    assert cpu["spec"]["limits"] == {"cpu": cpu_pool.cpu_limit, "memory": f"{cpu_pool.memory_limit_gib}Gi"}


def test_node_classes(objects: Objects, platform) -> None:
    eks = platform.eks
    for pool in (eks.gpu_pool, eks.cpu_pool):
        nc = objects[f"EC2NodeClass/{pool.name}"]["spec"]
        assert nc["amiSelectorTerms"] == [{"alias": pool.node_class.ami_alias}]
        assert nc["role"] == eks.node_role_name
        discovery = [{"tags": {eks.discovery_tag: eks.cluster_name}}]
        assert nc["subnetSelectorTerms"] == discovery and nc["securityGroupSelectorTerms"] == discovery
        assert nc["metadataOptions"]["httpTokens"] == "required"
        (bdm,) = nc["blockDeviceMappings"]
        assert bdm["ebs"]["volumeSize"] == f"{pool.node_class.root_volume_gib}Gi"
    gpu_root = objects[f"EC2NodeClass/{eks.gpu_pool.name}"]["spec"]["blockDeviceMappings"][0]["ebs"]["volumeSize"]
    assert int(gpu_root.removesuffix("Gi")) >= 200  # room for model caches


def test_families_and_bottlerocket_options(tmp_path) -> None:
    platform = make_platform(
        tmp_path,
        gpu_pool={
            "instance_families": ["g5", "g6"],
            "capacity_types": ["on-demand"],
            "node_class": {"ami_alias": "bottlerocket@latest"},
        },
        zones=["ap-northeast-2a", "ap-northeast-2c"],
    )
    objects, _ = run_program(platform)
    reqs = _reqs(objects["NodePool/gpu"])
    assert reqs["karpenter.k8s.aws/instance-family"] == ["g5", "g6"]
    assert "node.kubernetes.io/instance-type" not in reqs
    assert reqs["karpenter.sh/capacity-type"] == ["on-demand"]
    assert reqs["topology.kubernetes.io/zone"] == ["ap-northeast-2a", "ap-northeast-2c"]
    (bdm,) = objects["EC2NodeClass/gpu"]["spec"]["blockDeviceMappings"]
    assert bdm["deviceName"] == "/dev/xvdb" and bdm["rootVolume"] is False


def test_node_pool_waits_for_its_node_class(program) -> None:
    _objects, records = program
    names = [name for typ, name, _ in records]
    assert names.index("ec2nodeclass-gpu") < names.index("nodepool-gpu")
