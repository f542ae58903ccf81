"""runbook.model-loading on seed 003's "모델 로딩 실패" symptoms: connection refused, 403 Forbidden,
OOM while loading, plus what its diagnosis commands show: a PVC that stays Pending, an image that
cannot be pulled. The scheduler's and the PV controller's events are written by the scenario on
the double (on a real control plane those controllers write them); the model-cache PVC is the
EKS program's own, Pending because no provisioner runs."""

from __future__ import annotations

import copy
from pathlib import Path

from tests.unit.eks.helpers import causes, changed_keys, config_of, diagnose, finding, pod_template, proposed
from tests.unit.eks.scenarios import Cluster, now

UNBOUND = (
    "0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/3 nodes are "
    "available: 3 Preemption is not helpful for scheduling."
)
S3 = "      source: pvc\n"


def _s3_stack(stack_file: Path) -> None:
    text = stack_file.read_text().replace(S3, "      source: s3\n      s3_uri: s3://inferops-models/qwen\n")
    stack_file.write_text(text)


def _loading_pod(
    cluster: Cluster, init_status: dict | None, main_status: dict, ns_pod: str = "inference-chat-7b-k4m2x"
) -> str:
    spec = {
        "nodeName": "gpu-node-1",
        "initContainers": [
            {
                "name": "model-sync",
                "image": "amazon/aws-cli:2.27.50",
                "command": ["aws", "s3", "sync", "s3://inferops-models/qwen", "/models"],
            }
        ],
        "containers": [
            {
                "name": "inference-chat",
                "image": "ghcr.io/ggml-org/llama.cpp:server-cuda-b7100",
                "resources": {"limits": {"memory": "64Gi"}, "requests": {"memory": "32Gi"}},
            }
        ],
    }
    cluster.pod(ns_pod, spec, {"app.kubernetes.io/name": "inference-chat"})
    status: dict = {"phase": "Pending", "containerStatuses": [main_status]}
    if init_status:
        status["initContainerStatuses"] = [init_status]
    cluster.pod_status(ns_pod, status)
    return ns_pod


def _c(name: str, image: str, **fields) -> dict:
    return {"name": name, "image": image, "imageID": "", "ready": False, "restartCount": 0, **fields}


INIT_WAITING = _c(
    "inference-chat", "ghcr.io/ggml-org/llama.cpp:server-cuda-b7100", state={"waiting": {"reason": "PodInitializing"}}
)


def test_a_pvc_that_stays_pending_on_a_missing_class_moves_to_the_default_class(
    cluster: Cluster, eks_objects: list, stack_file: Path
) -> None:
    labels, template = pod_template(eks_objects, "inference-chat")
    cluster.pod("inference-chat-7b-p3nd1", copy.deepcopy(template), labels)
    cluster.scheduler_event("inference-chat-7b-p3nd1", UNBOUND)
    cluster.storage_class("gp3", "ebs.csi.aws.com", default=True)
    cluster.event(
        "model-cache",
        "ProvisioningFailed",
        'storageclass.storage.k8s.io "efs-sc" not found',
        "persistentvolume-controller",
        kind="PersistentVolumeClaim",
        api="v1",
    )
    before = config_of(stack_file)
    record = diagnose("model_loading", yes=True)
    assert "pvc-pending" in causes(record)
    assert proposed(record) == {"eks.model_cache.storage_class": "gp3"}
    evidence = finding(record, "pvc-pending")["evidence"]
    assert any("unbound immediate PersistentVolumeClaims" in e for e in evidence)
    assert any('"efs-sc" not found' in e for e in evidence)
    assert changed_keys(before, config_of(stack_file)) == {"eks.model_cache.storage_class"}


def test_a_403_from_the_model_download_sets_the_service_account_given(cluster: Cluster, stack_file: Path) -> None:
    _s3_stack(stack_file)
    failed = _c(
        "model-sync",
        "amazon/aws-cli:2.27.50",
        restartCount=3,
        state={"waiting": {"reason": "CrashLoopBackOff"}},
        lastState={"terminated": {"exitCode": 1, "reason": "Error", "startedAt": now(), "finishedAt": now()}},
    )
    pod = _loading_pod(cluster, failed, INIT_WAITING)
    cluster.log(
        pod,
        ["fatal error: An error occurred (403) when calling the HeadObject operation: Forbidden"],
        container="model-sync",
        previous=True,
    )
    shown = diagnose("model_loading")
    assert causes(shown) == ["download-forbidden"] and proposed(shown) == {}  # which account: the operator says
    record = diagnose("model_loading", service_account="model-sync")
    assert proposed(record) == {"eks.model_cache.service_account": "model-sync"}
    assert "(403)" in finding(record, "download-forbidden")["evidence"][0]


def test_connection_refused_while_downloading_moves_the_model_to_the_cache_pvc(
    cluster: Cluster, stack_file: Path
) -> None:
    _s3_stack(stack_file)
    failed = _c(
        "model-sync",
        "amazon/aws-cli:2.27.50",
        restartCount=1,
        state={"terminated": {"exitCode": 1, "reason": "Error", "startedAt": now(), "finishedAt": now()}},
        lastState={"terminated": {"exitCode": 1, "reason": "Error", "startedAt": now(), "finishedAt": now()}},
    )
    pod = _loading_pod(cluster, failed, INIT_WAITING)
    cluster.log(
        pod,
        ["Error loading model: Connection refused", 'Could not connect to the endpoint URL: "https://s3..."'],
        container="model-sync",
    )
    record = diagnose("model_loading", yes=True)
    assert causes(record) == ["connection-refused"]
    assert proposed(record) == {"eks.model_cache.source": "pvc"}
    assert config_of(stack_file)["eks.model_cache.source"] == "pvc"


def test_oom_while_loading_raises_memory(cluster: Cluster, stack_file: Path) -> None:
    main = _c(
        "inference-chat",
        "ghcr.io/ggml-org/llama.cpp:server-cuda-b7100",
        restartCount=2,
        state={"waiting": {"reason": "CrashLoopBackOff"}},
        lastState={"terminated": {"exitCode": 137, "reason": "OOMKilled", "startedAt": now(), "finishedAt": now()}},
    )
    _loading_pod(cluster, None, main)
    record = diagnose("model_loading")
    assert causes(record) == ["oom-during-load"]
    assert proposed(record) == {"eks.inference.memory_limit_gib": 128}


def test_an_image_that_cannot_be_pulled_is_named_without_a_config_change(cluster: Cluster, stack_file: Path) -> None:
    image = "ghcr.io/ggml-org/llama.cpp:server-cuda-b9999"
    message = f'rpc error: code = NotFound desc = failed to pull and unpack image "{image}": not found'
    main = _c(
        "inference-chat",
        "ghcr.io/ggml-org/llama.cpp:server-cuda-b9999",
        state={"waiting": {"reason": "ErrImagePull", "message": message}},
    )
    pod = _loading_pod(cluster, None, main)
    cluster.event(
        pod,
        "Failed",
        f'Failed to pull image "ghcr.io/ggml-org/llama.cpp:server-cuda-b9999": {message}',
        "kubelet",
        api="v1",
    )
    record = diagnose("model_loading")
    assert causes(record) == ["image-pull"] and proposed(record) == {}
    assert any("Failed to pull image" in e for e in finding(record, "image-pull")["evidence"])
