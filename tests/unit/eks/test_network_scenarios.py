"""runbook.network on seed 003's "네트워크 지연 문제" symptoms, from the gateway pod: a name that does
not resolve (getent's answer in the container), timeouts in the gateway's log, inference pods all in
one zone. EndpointSlices are written by the scenario (the EndpointSlice controller's job on a real
control plane)."""

from __future__ import annotations

from pathlib import Path

from tests.unit.eks.helpers import causes, changed_keys, config_of, diagnose, finding, proposed
from tests.unit.eks.scenarios import Cluster, endpoints_ready

TIMEOUT = "litellm.Timeout: APITimeoutError - Request timed out. error_str: Request timed out. (model=chat)"


def _gateway(kube) -> str:
    return sorted(p["metadata"]["name"] for p in kube.pods_of("api-gateway"))[0]  # the first one listed


def test_a_service_name_that_does_not_resolve(cluster: Cluster, kube, stack_file: Path) -> None:
    endpoints_ready(cluster)
    cluster.exec_answer(_gateway(kube), "getent", 2)
    record = diagnose("network", service="inference-chat", source="api-gateway")
    assert causes(record) == ["dns-failure"] and proposed(record) == {}
    assert finding(record, "dns-failure")["evidence"][0].startswith(
        f"exec {_gateway(kube)}: getent hosts inference-chat: exit 2"
    )


def test_timeouts_in_the_gateway_log_raise_the_request_timeout(cluster: Cluster, kube, stack_file: Path) -> None:
    endpoints_ready(cluster)
    gateway = _gateway(kube)
    cluster.exec_answer(gateway, "getent", 0, "10.100.3.7      inference-chat.inference.svc.cluster.local\n")
    cluster.exec_answer(gateway, "curl", 0)
    cluster.log(gateway, [TIMEOUT, "INFO: 10.0.0.9 - POST /v1/chat/completions 200"])
    before = config_of(stack_file)
    record = diagnose("network", yes=True, service="inference-chat", source="api-gateway")
    assert causes(record) == ["request-timeouts"]
    assert proposed(record) == {"tuning.LLM_REQUEST_TIMEOUT": 300}
    assert finding(record, "request-timeouts")["evidence"] == [TIMEOUT]
    assert changed_keys(before, config_of(stack_file)) == {"tuning.LLM_REQUEST_TIMEOUT"}
    assert [c[1][0] for c in kube.execs] == ["getent", "curl"]


def test_inference_pods_all_in_one_zone_get_required_anti_affinity(cluster: Cluster, stack_file: Path) -> None:
    endpoints_ready(cluster)
    cluster.node("kube-api-double-node", "ap-northeast-2a", "p4d.24xlarge")  # where the double runs every pod
    record = diagnose("network", source="api-gateway", service="rag")
    assert "inference-in-one-zone" in causes(record)
    assert proposed(record) == {"eks.inference.zone_spread": "required"}


def test_a_service_without_ready_endpoints(cluster: Cluster, stack_file: Path) -> None:
    record = diagnose("network", source="api-gateway", service="rag")
    assert "no-ready-endpoints" in causes(record)
    assert "service rag" in {f["subject"] for f in record.measurements["diagnosis"]["findings"]}
