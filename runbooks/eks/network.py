"""`runbook.network`: DNS and service reachability from a pod (seed 003 "네트워크 지연 문제").

From a running pod of `--source` (default the gateway) it execs `getent hosts <service>` for each
Service of the namespace (seed 003's `nslookup`, which llama.cpp/LiteLLM images do not ship) and
`curl` of the service's health path; it reads the Services and EndpointSlices, where the pods run
(nodes and zones), and the source's logs for timeouts, DNS errors and NCCL lines.
"""

from __future__ import annotations

from typing import Any

from infra.spec.model import Platform
from runbooks.eks.evidence import Evidence
from runbooks.eks.runbook import SEED, build_diagnosis
from runbooks.framework import BadInput, Options

__all__ = ["build"]


def _source_pod(reader: Any, source: str) -> Any:
    running = [p for p in reader.evidence.pods if p.service == source and p.phase == "Running" and p.node]
    if not running:
        reader.note(f"no running pod of {source}: DNS and reachability not checked from inside")
        return None
    return running[0]


def read(reader: Any, platform: Platform, options: Options) -> Evidence:
    source = options.extra.get("source") or "api-gateway"
    reader.pods()
    reader.nodes()
    reader.services()
    pod = _source_pod(reader, source)
    if pod is None:
        return reader.evidence
    wanted = [options.service] if options.service else [s for s in reader.evidence.services if s != source]
    for name in wanted:
        if name.endswith("-headless"):
            continue
        found = reader.exec(pod.name, ["getent", "hosts", name])
        svc = platform.services.get(name)
        if found.exit_code == 0 and svc is not None:
            url = f"http://{name}:{svc.port}{svc.health.path}"
            reader.exec(pod.name, ["curl", "-sS", "-o", "/dev/null", "--max-time", "5", url])
    reader.evidence.logs.append(reader.log(pod.name, pod.app_names[0], previous=False))
    return reader.evidence


def classify(evidence: Evidence, platform: Platform, options: Options) -> Any:
    from runbooks.eks.classify.network import classify as run

    return run(evidence, platform)


_build = build_diagnosis(
    "network",
    "DNS and service reachability from a pod, timeouts in logs, inference pods in one zone",
    f"{SEED}: 네트워크 지연 문제 (kubectl exec -- nslookup/ping; kubectl logs | grep -i nccl)",
    read,
    classify,
)


def build(platform: Platform, options: Options) -> Any:
    source = options.extra.get("source") or "api-gateway"
    try:
        platform.service(source)
    except KeyError as err:
        raise BadInput(f"--source: {err}") from None
    return _build(platform, options)
