"""Bad `eks` config is a ConfigError naming `inferops:eks.<key>`, raised before any resource."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from infra.spec import ConfigError, platform_from_config
from infra.spec.stackconfig import load_platform
from tests.unit.k8s.conftest import eks_raw


@pytest.mark.parametrize(
    ("eks", "key", "hint"),
    [
        ({"gpu_pool": {"gpu_limit": 0}}, "inferops:eks.gpu_pool.gpu_limit", "greater than 0"),
        ({"gpu_pool": {"instance_types": ["x9.48xlarge"]}}, "inferops:eks.gpu_pool.instance_types", "p4d"),
        ({"gpu_pool": {"instance_families": ["t3"]}}, "inferops:eks.gpu_pool.instance_families", "g5"),
        ({"cpu_pool": {"instance_families": ["m6g"]}}, "inferops:eks.cpu_pool.instance_families", "m6i"),
        ({"zones": ["ap-northeast-2a", "us-east-1b"]}, "inferops:eks.zones", "ap-northeast-2"),
        ({"context": ""}, "inferops:eks.context", "kubeconfig context"),
        ({"gpu_pool": {"expire_after": "30 days"}}, "inferops:eks.gpu_pool.expire_after", "pattern"),
        ({"kubernetes_version": "1.28"}, "inferops:eks.kubernetes_version", "1.30"),
        ({"gateway_replicas": 1}, "inferops:eks.gateway_replicas", "greater than or equal to 2"),
        ({"model_cache": {"source": "s3"}}, "inferops:eks.model_cache", "s3_uri"),
        ({"inference": {"pre_stop_drain_s": 200}}, "inferops:eks.inference", "termination_grace_s"),
        (
            {"gpu_pool": {"node_class": {"ami_alias": "al2@latest"}}},
            "inferops:eks.gpu_pool.node_class.ami_alias",
            "pattern",
        ),
        (
            {"gpu_pool": {"instance_families": ["g5"], "instance_types": ["p5.48xlarge"]}},
            "inferops:eks.gpu_pool",
            "not both",
        ),
        ({"nodepool": {}}, "inferops:eks.nodepool", "Extra inputs"),
    ],
)
def test_bad_eks_config_names_the_key(tmp_path: Path, eks: dict, key: str, hint: str) -> None:
    raw = eks_raw(tmp_path, **eks)
    with pytest.raises(ConfigError) as err:
        platform_from_config("eks-prod", raw, source="stacks/Pulumi.eks-prod.yaml")
    assert key in err.value.keys, err.value
    assert hint in str(err.value)
    assert "stacks/Pulumi.eks-prod.yaml" in str(err.value)


def test_context_must_exist_in_the_kubeconfig(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text(yaml.safe_dump({"apiVersion": "v1", "contexts": [{"name": "staging", "context": {}}]}))
    raw = eks_raw(tmp_path, kubeconfig=str(kubeconfig), context="eks-prod")
    with pytest.raises(ConfigError) as err:
        platform_from_config("eks-prod", raw, source="test")
    assert err.value.keys == ["inferops:eks.context"] and "staging" in str(err.value)
    raw["eks"]["context"] = "staging"
    assert platform_from_config("eks-prod", raw, source="test").eks.context == "staging"


def test_compose_stacks_need_no_context(tmp_path: Path) -> None:
    raw = eks_raw(tmp_path, context="")
    raw["target"] = "compose"
    assert platform_from_config("x", raw, source="test").eks.context == ""


def test_eks_prod_stack_file_is_valid(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))  # no kubeconfig of this machine leaks in
    platform = load_platform("eks-prod")
    assert platform.target == "eks" and platform.eks.context and len(platform.eks.zone_list) == 3


def test_render_mode_needs_no_cluster_and_gives_the_provider_only_the_directory(tmp_path: Path) -> None:
    from infra.targets.k8s.program import provider_args

    raw = eks_raw(tmp_path, kubeconfig=str(tmp_path / "none"), context="")
    with pytest.raises(ConfigError):
        platform_from_config("eks-prod", raw, source="test")
    raw["eks"]["render_yaml_to_directory"] = str(tmp_path / "out")
    eks = platform_from_config("eks-prod", raw, source="test").eks
    assert provider_args(eks) == {"render_yaml_to_directory": str(tmp_path / "out")}
    # field notes: the provider wants an absolute path; a relative one is taken from where pulumi runs
    raw["eks"]["render_yaml_to_directory"] = "build/k8s"
    relative = platform_from_config("eks-prod", raw, source="test").eks
    assert provider_args(relative) == {"render_yaml_to_directory": str(Path.cwd() / "build" / "k8s")}
    cluster = load_platform("eks-prod").eks
    kubeconfig = str(Path(cluster.kubeconfig).expanduser())
    assert provider_args(cluster) == {"kubeconfig": kubeconfig, "context": cluster.context}
