"""Workloads, Services, config and Secret of the EKS program, asserted on the inputs the program
hands the engine (Pulumi mocks) and compared with the service table they come from."""

from __future__ import annotations

import math

import yaml

from infra.render.gateway import CONFIG_PATH, MASTER_KEY_ENV, gateway_config
from infra.render.llama import flag_value
from infra.spec import platform_from_config
from infra.spec.model import Role
from infra.targets.k8s.workloads import eks_services
from tests.unit.k8s.conftest import TEST_SECRETS, Objects, eks_raw, make_platform, run_program

SIG_KEY = "4dabf18193072939515e22adb298388d"


def _ns(platform) -> str:
    return platform.eks.namespaces.inference


def _pod(objects: Objects, platform, name: str, kind: str = "Deployment") -> dict:
    return objects[f"{kind}/{_ns(platform)}/{name}"]["spec"]["template"]


def test_namespaces_from_config(tmp_path) -> None:
    platform = make_platform(tmp_path, namespaces={"inference": "llm", "monitoring": "obs"})
    objects, _ = run_program(platform)
    assert {k for k in objects if k.startswith("Namespace/")} == {"Namespace/llm", "Namespace/obs"}
    assert all(o["metadata"].get("namespace") in (None, "llm", "obs") for o in objects.values())


def test_only_operator_roles_are_left_out(objects: Objects, platform) -> None:
    deployed = {o["metadata"]["name"] for o in objects.values() if o["kind"] in ("Deployment", "StatefulSet")}
    expected = {s.name for s in platform.enabled() if s.role not in (Role.MONITORING, Role.TEST_SUPPORT)}
    assert deployed == expected and {"inference-chat", "api-gateway", "qdrant", "rag", "embedding"} <= deployed


def test_inference_pods_gpu_probes_rollout(objects: Objects, platform) -> None:
    eks = platform.eks
    for svc in platform.by_role(Role.INFERENCE):
        deploy = objects[f"Deployment/{_ns(platform)}/{svc.name}"]
        assert deploy["spec"]["strategy"] == {
            "type": "RollingUpdate",
            "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
        }
        spec = deploy["spec"]["template"]["spec"]
        (c,) = spec["containers"]
        assert c["resources"]["limits"]["nvidia.com/gpu"] == svc.gpu.count
        assert c["resources"]["requests"]["memory"] == f"{eks.inference.memory_request_gib}Gi"
        assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in spec["tolerations"]
        terms = spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
        assert terms == [
            {"matchExpressions": [{"key": "karpenter.sh/nodepool", "operator": "In", "values": [eks.gpu_pool.name]}]}
        ]
        # probes: the table's endpoint, seed 002's timings from Service.probes
        p = svc.probes
        assert c["livenessProbe"] == {
            "httpGet": {"path": svc.health.path, "port": "http"},
            "initialDelaySeconds": p.liveness_delay_s, "periodSeconds": p.liveness_period_s,
            "timeoutSeconds": p.liveness_timeout_s, "failureThreshold": p.liveness_failures,
        }  # fmt: skip
        assert (p.liveness_delay_s, p.liveness_period_s, p.liveness_timeout_s, p.liveness_failures) == (30, 10, 5, 3)
        assert c["readinessProbe"]["periodSeconds"] == p.readiness_period_s == 5
        startup = c["startupProbe"]
        assert startup["periodSeconds"] * startup["failureThreshold"] >= svc.health.start_period_s
        # drain before stop; grace longer than the drain
        assert c["lifecycle"]["preStop"]["sleep"]["seconds"] == eks.inference.pre_stop_drain_s
        assert spec["terminationGracePeriodSeconds"] == eks.inference.termination_grace_s
        # seed 003 OOM knobs from config reach llama-server's flags
        assert flag_value(c["args"], "--parallel") == str(eks.inference.max_num_seqs)
        assert flag_value(c["args"], "-b") == str(eks.inference.max_batch_size)
        assert flag_value(c["args"], "--port") == str(svc.port)
        # model cache PVC mounted where the table's model path lives
        assert {"name": "models", "persistentVolumeClaim": {"claimName": "model-cache", "readOnly": True}} in spec[
            "volumes"
        ]
        assert flag_value(c["args"], "-m").startswith(
            next(m["mountPath"] for m in c["volumeMounts"] if m["name"] == "models")
        )
        # spread across zones (seed 003's network section)
        assert spec["topologySpreadConstraints"][0]["topologyKey"] == "topology.kubernetes.io/zone"
        anti = spec["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"][0]
        assert anti["weight"] == 100 and anti["podAffinityTerm"]["topologyKey"] == "topology.kubernetes.io/zone"


def test_probes_follow_the_table(tmp_path) -> None:
    raw_health = {"path": "/ready", "interval_s": 4, "timeout_s": 2, "start_period_s": 400}
    raw = eks_raw(tmp_path)
    raw["services"] = {**raw["services"], "rag": {"health": raw_health}}
    platform = platform_from_config("eks-prod", raw, source="test")
    objects, _ = run_program(platform)
    (c,) = _pod(objects, platform, "rag")["spec"]["containers"]
    assert c["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert c["startupProbe"]["periodSeconds"] == 4
    assert c["startupProbe"]["timeoutSeconds"] == 2
    assert c["startupProbe"]["failureThreshold"] >= math.ceil(400 / 4)


def test_model_cache_from_s3(tmp_path) -> None:
    platform = make_platform(
        tmp_path, model_cache={"source": "s3", "s3_uri": "s3://models-bucket/gguf", "size_gib": 300}
    )
    objects, _ = run_program(platform)
    assert not [k for k in objects if k.startswith("PersistentVolumeClaim/")]
    spec = _pod(objects, platform, "inference-code")["spec"]
    (init,) = spec["initContainers"]
    assert init["command"][:4] == ["aws", "s3", "sync", "s3://models-bucket/gguf"]
    assert init["volumeMounts"] == [{"name": "models", "mountPath": "/models"}]
    assert {"name": "models", "emptyDir": {"sizeLimit": "300Gi"}} in spec["volumes"]


def test_gateway_replicas_pdb_spread_config_and_secret(program, platform) -> None:
    objects, records = program
    ns = _ns(platform)
    gw = platform.by_role(Role.GATEWAY)[0]
    deploy = objects[f"Deployment/{ns}/{gw.name}"]
    assert deploy["spec"]["replicas"] >= 2 and deploy["spec"]["replicas"] == platform.eks.gateway_replicas
    pod_labels = deploy["spec"]["template"]["metadata"]["labels"]
    pdb = objects[f"PodDisruptionBudget/{ns}/{gw.name}"]
    assert pdb["spec"]["maxUnavailable"] == 1
    assert pdb["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    spread = deploy["spec"]["template"]["spec"]["topologySpreadConstraints"]
    zone = next(s for s in spread if s["topologyKey"] == "topology.kubernetes.io/zone")
    assert zone["whenUnsatisfiable"] == "DoNotSchedule"
    assert zone["labelSelector"]["matchLabels"].items() <= pod_labels.items()
    # LiteLLM config: the shared renderer's output, mounted where the gateway's command reads it
    cm = objects[f"ConfigMap/{ns}/{gw.name}-config"]
    assert yaml.safe_load(cm["data"]["config.yaml"]) == gateway_config(platform)
    (c,) = deploy["spec"]["template"]["spec"]["containers"]
    assert {"name": "config", "mountPath": CONFIG_PATH, "subPath": "config.yaml", "readOnly": True} in c["volumeMounts"]
    assert CONFIG_PATH in c["args"]
    assert deploy["spec"]["template"]["metadata"]["annotations"]["inferops/config-hash"]
    env = {e["name"]: e for e in c["env"]}
    assert env[MASTER_KEY_ENV]["valueFrom"] == {
        "secretKeyRef": {"name": f"{gw.name}-secrets", "key": "gatewayMasterKey"}
    }
    # the master key is the Pulumi secret, still marked secret on the wire
    (secret,) = [
        i for t, _n, i in records if t == "kubernetes:core/v1:Secret" and i["metadata"]["name"] == f"{gw.name}-secrets"
    ]
    wrapped = secret["stringData"]
    assert SIG_KEY in wrapped and wrapped["value"] == {"gatewayMasterKey": TEST_SECRETS["gatewayMasterKey"]}


def test_every_workload_has_a_matching_service(objects: Objects, platform) -> None:
    ns = _ns(platform)
    for svc in eks_services(platform):
        kind = "StatefulSet" if svc.role is Role.VECTOR_DB else "Deployment"
        pod = _pod(objects, platform, svc.name, kind)
        service = objects[f"Service/{ns}/{svc.name}"]
        assert service["spec"]["selector"].items() <= pod["metadata"]["labels"].items()
        assert service["spec"]["ports"] == [{"name": "http", "port": svc.port, "targetPort": "http", "protocol": "TCP"}]
        (c,) = pod["spec"]["containers"]
        assert c["image"] == svc.image and c["ports"][0]["containerPort"] == svc.port


def test_qdrant_statefulset_with_claim(objects: Objects, platform) -> None:
    ns = _ns(platform)
    qdrant = platform.by_role(Role.VECTOR_DB)[0]
    sts = objects[f"StatefulSet/{ns}/{qdrant.name}"]
    assert sts["spec"]["serviceName"] == f"{qdrant.name}-headless"
    assert objects[f"Service/{ns}/{qdrant.name}-headless"]["spec"]["clusterIP"] == "None"
    (claim,) = sts["spec"]["volumeClaimTemplates"]
    assert claim["spec"]["resources"]["requests"]["storage"] == f"{platform.eks.qdrant_storage_gib}Gi"
    assert claim["spec"]["storageClassName"] == platform.eks.qdrant_storage_class
    (c,) = sts["spec"]["template"]["spec"]["containers"]
    assert [(m["name"], m["mountPath"]) for m in c["volumeMounts"]] == [(v.source, v.target) for v in qdrant.volumes]
    assert c["readinessProbe"]["httpGet"]["path"] == qdrant.health.path


def test_rag_reaches_services_by_table_names(objects: Objects, platform) -> None:
    (c,) = _pod(objects, platform, "rag")["spec"]["containers"]
    env = {e["name"]: e.get("value") for e in c["env"]}
    assert env == platform.service("rag").env
    services = {o["metadata"]["name"] for o in objects.values() if o["kind"] == "Service"}
    assert {"qdrant", "embedding", "api-gateway"} <= services


def test_zone_spread_required_keeps_one_pod_of_a_service_per_zone(tmp_path) -> None:
    """runbook.network's anti-affinity fix (eks.inference.zone_spread: required)."""
    from infra.targets.k8s.pods import eks_plan, pod_template

    platform = make_platform(tmp_path, inference={"zone_spread": "required"})
    svc = platform.service("inference-chat")
    spec = pod_template(platform, svc, eks_plan(platform, svc), {})["spec"]
    (required,) = spec["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert required["topologyKey"] == "topology.kubernetes.io/zone"
    assert required["labelSelector"]["matchLabels"]["app.kubernetes.io/name"] == "inference-chat"
    assert spec["topologySpreadConstraints"][0]["whenUnsatisfiable"] == "DoNotSchedule"
    default = make_platform(tmp_path)
    spec = pod_template(default, svc, eks_plan(default, svc), {})["spec"]
    assert "requiredDuringSchedulingIgnoredDuringExecution" not in spec["affinity"]["podAntiAffinity"]
