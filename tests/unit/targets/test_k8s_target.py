"""KubernetesTarget on the real kubernetes client against the kube API test double, seeded with the
EKS program's objects (eks-prod: the qdrant StatefulSet, the rag and api-gateway Deployments...).

The read-only tests take `read_target`, so INFEROPS_KUBE_LIVE=1 with KUBECONFIG runs them against a
real cluster (see conftest); the others change workloads and only run against the double.
"""

from __future__ import annotations

import contextlib
import json
from datetime import datetime

import pytest

from infra.errors import ExitCode
from infra.spec import Platform
from runbooks.targets import ExecResult, TargetError
from runbooks.targets.base import TargetUnreachable
from runbooks.targets.k8s_target import REPLICAS_ANNOTATION, RESTARTED_AT, KubernetesTarget
from tests.doubles.kube_double import KubeApiDouble, api_client
from tests.doubles.serving import free_port
from tests.unit.targets.conftest import LIVE


def names(pods: list[dict]) -> list[str]:
    return sorted(p["metadata"]["name"] for p in pods)


# ---- read-only: the double, or a live cluster -------------------------------------------------
def test_ping_answers_and_a_cluster_that_does_not_is_exit_3(read_target: KubernetesTarget, eks: Platform) -> None:
    from kubernetes import client

    assert read_target.ping() is None
    silent = client.ApiClient(client.Configuration(host=f"http://127.0.0.1:{free_port()}"))
    silent.configuration.retries = 0
    with pytest.raises(TargetUnreachable) as info:
        KubernetesTarget(eks, api_client=silent).ping()
    assert info.value.exit_code == ExitCode.MISSING and "does not answer" in str(info.value)


def test_state_of_the_qdrant_statefulset_and_the_rag_deployment(read_target: KubernetesTarget) -> None:
    for service in ("qdrant", "rag"):
        state = read_target.state(service)
        assert (state.status, state.health, state.instance) == ("running", "healthy", service)


def test_inspect_says_which_workload_it_is(read_target: KubernetesTarget) -> None:
    qdrant = read_target.inspect("qdrant")
    assert qdrant["kind"] == "StatefulSet" and qdrant["metadata"]["name"] == "qdrant"
    assert qdrant["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"] == "qdrant"
    assert read_target.inspect("rag")["kind"] == "Deployment"  # the API's kind wins over the target's key


def test_logs_of_the_running_pod(read_target: KubernetesTarget) -> None:
    text = read_target.logs("qdrant", tail=5)
    assert isinstance(text, str) and (LIVE or "qdrant-0: started" in text)


# ---- changes: the double only -----------------------------------------------------------------
def test_a_service_without_workload_is_missing(k8s: KubernetesTarget, kube: KubeApiDouble) -> None:
    assert k8s.state("prometheus").status == "missing"  # enabled, but kube-prometheus-stack runs it on EKS
    kube.remove("rag")
    assert k8s.state("rag").status == "missing"
    with pytest.raises(TargetError, match="no Deployment or StatefulSet 'rag' in Kubernetes namespace 'inference'"):
        k8s.stop("rag")


def test_stop_keeps_the_replicas_and_start_puts_them_back(k8s: KubernetesTarget, kube: KubeApiDouble) -> None:
    before = names(kube.pods_of("api-gateway"))
    assert len(before) == 2  # eks.gateway_replicas
    k8s.stop("api-gateway")
    gateway = kube.workload("api-gateway")
    assert gateway["spec"]["replicas"] == 0 and gateway["metadata"]["annotations"][REPLICAS_ANNOTATION] == "2"
    assert kube.pods_of("api-gateway") == [] and k8s.state("api-gateway").status == "stopped"
    k8s.start("api-gateway")
    gateway = kube.workload("api-gateway")
    assert gateway["spec"]["replicas"] == 2 and REPLICAS_ANNOTATION not in gateway["metadata"].get("annotations", {})
    assert len(kube.pods_of("api-gateway")) == 2 and k8s.state("api-gateway").health == "healthy"
    assert kube.scales == [("Deployment", "api-gateway", 0), ("Deployment", "api-gateway", 2)]


def test_start_uses_the_kept_count_not_the_stack_default(k8s: KubernetesTarget, kube: KubeApiDouble) -> None:
    kube.set_replicas("rag", 3)  # scaled by hand; the stack says 1
    k8s.stop("rag")
    k8s.start("rag")
    assert kube.workload("rag")["spec"]["replicas"] == 3 and len(kube.pods_of("rag")) == 3


def test_restart_sets_restarted_at_and_rolls_the_pods(k8s: KubernetesTarget, kube: KubeApiDouble) -> None:
    before = names(kube.pods_of("rag"))
    generation = kube.workload("rag")["metadata"]["generation"]
    k8s.restart("rag")
    rag = kube.workload("rag")
    stamp = rag["spec"]["template"]["metadata"]["annotations"][RESTARTED_AT]
    assert datetime.fromisoformat(stamp).tzinfo is not None
    assert rag["metadata"]["generation"] == generation + 1 == rag["status"]["observedGeneration"]
    after = kube.pods_of("rag")
    assert len(after) == 1 and names(after) != before
    assert after[0]["metadata"]["annotations"][RESTARTED_AT] == stamp


def test_kill_deletes_the_pods_and_the_controller_replaces_them(k8s: KubernetesTarget, kube: KubeApiDouble) -> None:
    before = names(kube.pods_of("api-gateway"))
    k8s.kill("api-gateway")
    assert sorted(kube.deleted_pods) == before
    after = names(kube.pods_of("api-gateway"))
    assert len(after) == 2 and not set(after) & set(before)
    [qdrant] = kube.pods_of("qdrant")
    k8s.kill("qdrant")
    [again] = kube.pods_of("qdrant")  # a StatefulSet's pod comes back under its name, as a new pod
    assert again["metadata"]["name"] == "qdrant-0" and again["metadata"]["uid"] != qdrant["metadata"]["uid"]


def test_hold_waits_until_the_pods_are_gone(k8s: KubernetesTarget, kube: KubeApiDouble) -> None:
    kube.linger = 3  # the pod stays listed (terminating) for 3 more lists
    k8s.hold("rag")
    lists = [p for m, p in kube.requests if m == "GET" and "/pods?" in p]
    assert len(lists) == 4 and k8s.state("rag").status == "stopped"
    assert kube.scales == [("Deployment", "rag", 0)]
    k8s.release("rag")
    assert kube.scales[-1] == ("Deployment", "rag", 1) and k8s.state("rag").health == "healthy"


def test_a_hold_that_times_out_scales_back(k8s: KubernetesTarget, kube: KubeApiDouble) -> None:
    kube.linger = 10**6  # the pod never goes
    with pytest.raises(TargetError, match=r"pods rag-\S+ still there 0.3 s after scaling to 0 .*scaled back"):
        k8s.hold("rag", timeout_s=0.3)
    assert kube.scales == [("Deployment", "rag", 0), ("Deployment", "rag", 1)]
    assert REPLICAS_ANNOTATION not in kube.workload("rag")["metadata"].get("annotations", {})


def test_a_wrong_token_is_a_401_naming_the_namespace(kube: KubeApiDouble, eks: Platform) -> None:
    target = KubernetesTarget(eks, api_client=api_client(kube, token="not-the-token"))
    with pytest.raises(TargetError, match=r"Kubernetes namespace 'inference' \(context eks-prod\): 401"):
        target.ping()
    with pytest.raises(TargetError, match="401"):  # not "missing": no answer is not an absent workload
        target.state("rag")
    assert kube.scales == []


def test_an_api_server_that_is_down_does_not_answer(k8s: KubernetesTarget, kube: KubeApiDouble) -> None:
    kube.stop()
    with pytest.raises(TargetError, match=r"Kubernetes namespace 'inference' .*does not answer"):
        k8s.ping()
    with pytest.raises(TargetError, match="does not answer"):
        k8s.state("qdrant")


def test_an_unknown_service_is_named(k8s: KubernetesTarget, kube: KubeApiDouble) -> None:
    with pytest.raises(KeyError, match="unknown service 'vector-db' in stack 'eks-prod'"):
        k8s.stop("vector-db")
    assert kube.requests == []


def test_the_double_refuses_what_the_schema_rejects(k8s: KubernetesTarget, kube: KubeApiDouble) -> None:
    """The binding can fail: a patch that would store a misspelt field is 422 and a violation."""
    with pytest.raises(TargetError, match=r"patch deployment rag .*422"):
        k8s._patch("rag", {"spec": {"replica": 2}})
    violations = kube.guard.take()
    assert violations and "replica" in violations[0]
    assert "replica" not in kube.workload("rag")["spec"]


# ---- exec and pause: the websocket (v5/v4.channel.k8s.io) of pods/exec, the double only --------
def test_exec_returns_the_exit_code_and_the_output(k8s: KubernetesTarget, kube: KubeApiDouble) -> None:
    assert k8s.exec("qdrant", ["echo", "hello", "world"]) == ExecResult(0, "hello world\n")
    assert kube.execs == [("qdrant-0", ["echo", "hello", "world"])]
    assert kube.exec_protocols == ["v5.channel.k8s.io"]  # the client offers v5 first; 1.33 takes it
    method, path = kube.requests[-1]
    assert method == "GET" and path.startswith("/api/v1/namespaces/inference/pods/qdrant-0/exec?command=echo&")


def test_a_failing_command_returns_its_code_and_its_stderr(k8s: KubernetesTarget, kube: KubeApiDouble) -> None:
    result = k8s.exec("rag", ["sh", "-c", "echo no space left on device >&2; exit 3"])
    assert result == ExecResult(3, "no space left on device\n")


def test_a_command_the_shell_does_not_find_is_127(k8s: KubernetesTarget) -> None:
    assert k8s.exec("qdrant", ["sh", "-c", "pg_dump"]) == ExecResult(127, "sh: 1: pg_dump: not found\n")


def test_an_executable_that_is_not_there_is_a_target_error(k8s: KubernetesTarget, kube: KubeApiDouble) -> None:
    """containerd never starts it: the exec ends with an InternalError Status, no exit code (the
    client's `returncode` would raise ValueError on it)."""
    with pytest.raises(TargetError, match=r'exec pg_dump in qdrant-0 .*exec: "pg_dump": executable file not found'):
        k8s.exec("qdrant", ["pg_dump"])
    assert kube.execs == [("qdrant-0", ["pg_dump"])]


def test_pause_and_unpause_signal_pid_1_in_every_pod(k8s: KubernetesTarget, kube: KubeApiDouble) -> None:
    pods = names(kube.pods_of("api-gateway"))
    assert len(pods) == 2
    k8s.pause("api-gateway")
    assert kube.execs == [(pod, ["kill", "-STOP", "1"]) for pod in pods]
    assert kube.paused == set(pods)
    assert k8s.state("api-gateway").status == "running"  # Kubernetes has no paused state
    k8s.unpause("api-gateway")
    assert kube.execs[2:] == [(pod, ["kill", "-CONT", "1"]) for pod in pods]
    assert kube.paused == set()


def test_a_pause_that_fails_in_a_pod_names_the_pod_and_resumes_the_ones_before_it(
    k8s: KubernetesTarget, kube: KubeApiDouble
) -> None:
    first, second = names(kube.pods_of("api-gateway"))
    kube.fail_exec(second, 1, "kill: (1) - Operation not permitted\n")
    with pytest.raises(TargetError, match=rf"kill -STOP 1 in {second}: kill: \(1\) - Operation not permitted$"):
        k8s.pause("api-gateway")
    assert kube.execs == [
        (first, ["kill", "-STOP", "1"]),
        (second, ["kill", "-STOP", "1"]),
        (first, ["kill", "-CONT", "1"]),
    ]
    assert kube.paused == set()  # all or nothing


def test_a_pause_that_cannot_be_undone_names_the_pod_left_stopped(k8s: KubernetesTarget, kube: KubeApiDouble) -> None:
    first, second = names(kube.pods_of("api-gateway"))
    kube.fail_exec(second, 1, "kill: (1) - Operation not permitted\n")
    kube.fail_exec(first, 1, "kill: (1) - Operation not permitted\n", only=["kill", "-CONT", "1"])
    with pytest.raises(TargetError, match=rf"in {second}: .*; and could not resume: kill -CONT 1 in {first}: "):
        k8s.pause("api-gateway")
    assert kube.paused == {first}


def test_unpause_resumes_every_pod_past_one_that_refuses(k8s: KubernetesTarget, kube: KubeApiDouble) -> None:
    first, second = names(kube.pods_of("api-gateway"))
    k8s.pause("api-gateway")
    kube.fail_exec(first, 1, "kill: (1) - Operation not permitted\n")
    with pytest.raises(TargetError, match=rf"^kill -CONT 1 in {first}: kill: \(1\) - Operation not permitted$"):
        k8s.unpause("api-gateway")
    assert kube.execs[-2:] == [(first, ["kill", "-CONT", "1"]), (second, ["kill", "-CONT", "1"])]
    assert kube.paused == {first}  # the second pod is running again


@pytest.mark.parametrize("offered", [["v4.channel.k8s.io"], ["v4.channel.k8s.io", "v5.channel.k8s.io"]])
def test_a_client_that_offers_v4_first_gets_v4_and_the_same_frames(kube: KubeApiDouble, offered: list[str]) -> None:
    # websocket-client (the kubernetes client's): simple_websocket's client drops frames that come in
    # the same read as the handshake answer, which a fast server's do
    import websocket

    url = kube.url.replace("http", "ws", 1) + "/api/v1/namespaces/inference/pods/qdrant-0/exec"
    ws = websocket.create_connection(
        f"{url}?command=echo&command=hi&stdout=true&stderr=true",
        subprotocols=offered,
        header=[f"Authorization: Bearer {kube.token}"],
        timeout=30,
    )
    frames = []
    with contextlib.suppress(websocket.WebSocketConnectionClosedException):
        while frame := ws.recv():  # b"" once the double's close frame came
            frames.append(frame)
    ws.close()
    assert ws.getsubprotocol() == "v4.channel.k8s.io" and kube.exec_protocols == ["v4.channel.k8s.io"]
    assert frames[:2] == [b"\x01", b"\x01hi\n"] and json.loads(frames[2][1:])["status"] == "Success"


def test_a_client_that_offers_no_channel_protocol_gets_a_400(kube: KubeApiDouble) -> None:
    import httpx

    resp = httpx.get(
        f"{kube.url}/api/v1/namespaces/inference/pods/qdrant-0/exec?command=echo&stdout=true",
        headers={"Authorization": f"Bearer {kube.token}", "Connection": "Upgrade", "Upgrade": "websocket",
                 "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
                 "Sec-WebSocket-Protocol": "base64.channel.k8s.io"},
    )  # fmt: skip
    assert resp.status_code == 400 and "speaks v5.channel.k8s.io and v4.channel.k8s.io" in resp.json()["message"]
    assert kube.execs == []


def test_exec_with_a_wrong_token_is_a_401(kube: KubeApiDouble, eks: Platform) -> None:
    target = KubernetesTarget(eks, api_client=api_client(kube, token="not-the-token"))
    with pytest.raises(TargetError, match=r"exec in qdrant-0 in Kubernetes namespace 'inference' .*401"):
        target.exec_pod("qdrant-0", ["echo", "hi"])  # the pod by name: listing pods would be the first 401
    assert kube.requests[-1][1].startswith("/api/v1/namespaces/inference/pods/qdrant-0/exec?")
    assert kube.execs == []


def test_the_double_answers_exec_only_on_a_websocket(kube: KubeApiDouble) -> None:
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    core = client.CoreV1Api(api_client(kube))
    with pytest.raises(ApiException) as err:
        core.connect_get_namespaced_pod_exec("qdrant-0", "inference", command=["echo"], stdout=True)
    assert err.value.status == 400 and "Upgrade request required" in (err.value.body or "")
    assert kube.execs == []
