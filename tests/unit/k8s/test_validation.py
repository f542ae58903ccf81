"""Every object the EKS program registers is valid for the cluster: core kinds against the
Kubernetes API schemas of the configured version (kubernetes-validate, strict), custom resources
against the operators' real CRD schemas."""

from __future__ import annotations

import kubernetes_validate
import pytest

from tests.support.k8s_schemas import CUSTOM, check_objects
from tests.unit.k8s.conftest import Objects, make_platform, run_program

CORE = {"Namespace", "ConfigMap", "Secret", "Service", "PersistentVolumeClaim", "Deployment", "StatefulSet",
        "PodDisruptionBudget"}  # fmt: skip


def test_every_object_validates(objects: Objects, platform, crd_validator) -> None:
    counted = check_objects(objects, platform.eks.kubernetes_version, crd_validator)
    assert set(counted) == CORE | CUSTOM  # every kind the issue lists is rendered and checked


def test_s3_model_cache_and_options_validate(tmp_path, crd_validator) -> None:
    platform = make_platform(
        tmp_path,
        model_cache={"source": "s3", "s3_uri": "s3://models-bucket/gguf", "service_account": "model-reader"},
        gpu_pool={"instance_families": ["g5", "g6"], "node_class": {"ami_alias": "bottlerocket@latest"}},
        inference={"kv_cache_type": "q8_0", "pre_stop_drain_s": 0},
    )
    objects, _ = run_program(platform)
    check_objects(objects, platform.eks.kubernetes_version, crd_validator)


def test_validators_catch_mistakes(objects: Objects, platform, crd_validator) -> None:
    """The checks above can fail: a misspelt field and a bad value are reported."""
    pool = dict(objects["NodePool/gpu"])
    pool["spec"] = {**pool["spec"], "disruption": {**pool["spec"]["disruption"], "consolidateAfter": "soon"}}
    assert any("consolidateAfter" in e for e in crd_validator(pool))
    monitor = dict(objects["ServiceMonitor/inference/rag"])
    monitor["spec"] = {**monitor["spec"], "endpoint": []}
    assert crd_validator(monitor)
    deploy = objects["Deployment/inference/rag"]
    broken = {**deploy, "spec": {**deploy["spec"], "replica": 2}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, platform.eks.kubernetes_version, strict=True)
