"""`runbook.model-loading`: pods that fail to load their model (seed 003 "모델 로딩 실패").

Reads what `kubectl describe pod`, `kubectl logs --previous` and `kubectl get pvc` show: pod and
init-container (model-sync) statuses, the pods' events, each failed container's logs (current and
previous), the PVCs, their events and the storage classes; classify/model_loading.py names the
cause and seed 003's fix.
"""

from __future__ import annotations

from typing import Any

from infra.spec.model import Platform
from runbooks.eks.evidence import Evidence
from runbooks.eks.runbook import SEED, build_diagnosis
from runbooks.framework import Options

__all__ = ["build"]


def _troubled(pod: Any) -> bool:
    return pod.phase != "Running" or any(c.restarts or not c.ready for c in pod.containers if not c.init)


def read(reader: Any, platform: Platform, options: Options) -> Evidence:
    pods = [p for p in reader.pods() if options.service in (None, p.service) and _troubled(p)]
    reader.evidence.pods = pods
    reader.events(kinds=("Pod", "PersistentVolumeClaim"))
    reader.container_logs(pods)
    reader.pvcs()
    reader.storage_classes()
    return reader.evidence


def classify(evidence: Evidence, platform: Platform, options: Options) -> Any:
    from runbooks.eks.classify.model_loading import classify as run

    return run(evidence, platform, options.extra, options.service)


build = build_diagnosis(
    "model-loading",
    "pods that fail to load their model: refused, 403, OOM while loading, PVC pending, image pull",
    f"{SEED}: 모델 로딩 실패 (kubectl describe pod; kubectl logs --previous; kubectl get pvc)",
    read,
    classify,
)
