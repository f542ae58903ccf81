"""runbook.model-loading's classifier: why a pod does not get its model loaded (seed 003 "모델 로딩 실패").

Symptoms the seed lists — `Error loading model: Connection refused`, `Model download failed: 403
Forbidden`, `OOM during model loading` — plus the two the diagnosis commands show (`kubectl get
pvc`: a claim Pending; `kubectl describe pod`: an image that cannot be pulled). Fixes from the
seed: a model-cache PVC instead of a download at start (`eks.model_cache.source: pvc`), the init
container's download with credentials that may read the bucket (`eks.model_cache.service_account`),
more memory while loading (`eks.inference.memory_request_gib` / `memory_limit_gib`), a storage
class the cluster has (`eks.model_cache.storage_class`).
"""

from __future__ import annotations

import re
from typing import Any

from infra.spec.model import Platform
from runbooks.eks.classify.gpu_oom import memory_fix
from runbooks.eks.diagnosis import Diagnosis, Finding, Fix
from runbooks.eks.evidence import Evidence, PodEvidence

__all__ = ["classify"]

SEED = "seed 003 모델 로딩 실패"
REFUSED = re.compile(r"connection refused|ECONNREFUSED|Could not connect to the endpoint", re.I)
FORBIDDEN = re.compile(r"\b403\b|Forbidden|AccessDenied|Access Denied", re.I)
PULL = ("ErrImagePull", "ImagePullBackOff", "InvalidImageName")
SC_MISSING = re.compile(r'storageclass\.storage\.k8s\.io "(?P<name>[^"]+)" not found')


def _log_lines(pod: PodEvidence, ev: Evidence, pattern: re.Pattern[str]) -> list[tuple[str, str]]:
    """(container, line) of the pod's logs that match."""
    return [(lg.container, line) for lg in ev.logs_of(pod.name) for line in lg.lines if pattern.search(line)]


def _forbidden(pod: PodEvidence, ev: Evidence, platform: Platform, options: dict[str, Any]) -> Finding | None:
    hits = _log_lines(pod, ev, FORBIDDEN)
    if not hits:
        return None
    cache = platform.eks.model_cache
    account = options.get("service_account")
    fix = None
    if account and account != cache.service_account:
        fix = Fix(
            (("eks.model_cache.service_account", account),), f"{SEED} fix 2 (Init Container로 모델 사전 다운로드)"
        )
        advice = (
            f"run the download as ServiceAccount {account} (its IRSA role must allow s3:GetObject on {cache.s3_uri})"
        )
    else:
        advice = (
            "the download is refused: give --service-account NAME (a ServiceAccount whose IAM role may read "
            f"{cache.s3_uri or 'the bucket'}) to set eks.model_cache.service_account"
        )
    return Finding(
        "download-forbidden",
        pod.ref,
        f"the model download is refused (403) in {hits[0][0]}",
        tuple(line for _, line in hits[:3]),
        advice,
        fix,
    )


def _refused(pod: PodEvidence, ev: Evidence, platform: Platform) -> Finding | None:
    hits = _log_lines(pod, ev, REFUSED)
    if not hits:
        return None
    cache = platform.eks.model_cache
    fix = None
    if cache.source != "pvc":
        fix = Fix((("eks.model_cache.source", "pvc"),), f"{SEED} fix 1 (모델 캐시 PVC 사용)")
        advice = f"read the model from the model-cache PVC {cache.claim_name} instead of downloading at start"
    else:
        advice = (
            "the model is already read from the PVC: what refuses is something the container calls at start "
            "(a model registry, a sidecar); fix its address or pre-load the model into the PVC"
        )
    return Finding(
        "connection-refused",
        pod.ref,
        f"loading the model: connection refused ({hits[0][0]})",
        tuple(line for _, line in hits[:3]),
        advice,
        fix,
    )


def _oom(pod: PodEvidence, platform: Platform) -> Finding | None:
    oom = [c for c in pod.containers if c.oom_killed and not c.ready]
    if not oom:
        return None
    lines = tuple(_oom_line(c) for c in oom)
    return Finding(
        "oom-during-load",
        pod.ref,
        f"killed for memory while loading (limit {pod.memory_limit or 'none'})",
        lines,
        "loading needs more memory than serving: raise requests and limits",
        memory_fix(platform),
    )


def _oom_line(c: Any) -> str:
    code = c.exit_code if c.reason == "OOMKilled" else c.last_exit_code
    return f"{c.name}{' (init)' if c.init else ''}: OOMKilled, exit {code}, {c.restarts} restarts"


def _pvc(pod: PodEvidence, ev: Evidence, platform: Platform) -> Finding | None:
    pending = [c for c in pod.claims if (pvc := ev.pvc(c)) is not None and pvc.phase == "Pending"]
    if not pending:
        return None
    claim = ev.pvc(pending[0])
    assert claim is not None
    lines = [e.line for e in ev.events_for("Pod", pod.name) if "PersistentVolumeClaim" in e.message]
    lines += [e.line for e in ev.events_for("PersistentVolumeClaim", claim.name)]
    cache = platform.eks.model_cache
    fix = None
    advice = (
        f"PVC {claim.name} (class {claim.storage_class or 'default'}) is not bound: check its events and the CSI driver"
    )
    missing = next((m["name"] for line in lines if (m := SC_MISSING.search(line))), None)
    if missing is None and claim.storage_class and ev.storage_classes and claim.storage_class not in ev.storage_classes:
        missing = claim.storage_class
    default = next((name for name, is_default in ev.storage_classes.items() if is_default), None)
    if missing and claim.name == cache.claim_name:
        if default:
            fix = Fix((("eks.model_cache.storage_class", default),), f"{SEED} fix 1 (모델 캐시 PVC)")
            advice = f"storage class {missing} does not exist here; use the cluster's default {default}"
        elif cache.s3_uri:
            fix = Fix((("eks.model_cache.source", "s3"),), f"{SEED} fix 2 (Init Container로 모델 사전 다운로드)")
            advice = f"no storage class {missing} and no default: sync {cache.s3_uri} with the init container"
        else:
            advice = f"no storage class {missing} and no default one: install the CSI driver (EFS for ReadWriteMany)"
    return Finding(
        "pvc-pending",
        pod.ref,
        f"waits for PVC {claim.name}, which is {claim.phase}",
        tuple(lines) or (f"pvc {claim.name}: {claim.phase}",),
        advice,
        fix,
    )


def _image(pod: PodEvidence, ev: Evidence) -> Finding | None:
    stuck = [c for c in pod.containers if c.reason in PULL]
    if not stuck:
        return None
    c = stuck[0]
    lines = [f"{c.name}: {c.reason}: {c.message}".rstrip(": ")]
    lines += [
        e.line
        for e in ev.events_for("Pod", pod.name)
        if e.reason in ("Failed", "BackOff") and "image" in e.message.lower()
    ]
    return Finding(
        "image-pull",
        pod.ref,
        f"cannot pull {c.image or 'its image'} ({c.reason})",
        tuple(lines),
        "check the image reference (inferops:images.* / services.<svc>.image), the registry's reachability "
        "from the nodes and pull credentials; not a model problem",
    )


def classify(ev: Evidence, platform: Platform, options: dict[str, Any], service: str | None = None) -> Diagnosis:
    out = Diagnosis("model-loading", list(ev.looked_at))
    for pod in ev.pods:
        if service not in (None, pod.service):
            continue
        for found in (
            _pvc(pod, ev, platform),
            _image(pod, ev),
            _forbidden(pod, ev, platform, options),
            _refused(pod, ev, platform),
            _oom(pod, platform),
        ):
            if found is not None:
                out.findings.append(found)
                break
    return out
