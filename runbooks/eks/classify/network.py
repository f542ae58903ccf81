"""runbook.network's classifier: DNS, service reachability, timeouts, pods piled in one zone.

Seed 003 "네트워크 지연 문제": request timeouts, slow calls between services (NCCL timeouts in
distributed inference); diagnosis `kubectl exec <pod> -- nslookup/ping <service>`, NCCL lines in
the logs; fixes: Pod Anti-Affinity across zones (`eks.inference.zone_spread: required`) and
longer timeouts (the seed's REQUEST_TIMEOUT 300 s: `tuning.LLM_REQUEST_TIMEOUT`, which the
gateway's LiteLLM config uses). DNS failures and services without ready endpoints have no
stack-config fix: the finding says where to look.
"""

from __future__ import annotations

import re
from collections import Counter

from infra.spec.model import Platform, Role
from runbooks.eks.diagnosis import Diagnosis, Finding, Fix
from runbooks.eks.evidence import Evidence
from runbooks.eks.fixes import SEED_REQUEST_TIMEOUT_S

__all__ = ["DNS_ERRORS", "TIMEOUTS", "classify"]

SEED = "seed 003 네트워크 지연 문제"
TIMEOUTS = re.compile(r"timed out|Timeout|deadline exceeded|NCCL.*(timeout|Watchdog)", re.I)
DNS_ERRORS = re.compile(
    r"Name or service not known|Temporary failure in name resolution|Could not resolve host|"
    r"no such host|NXDOMAIN",
    re.I,
)


def _dns(ev: Evidence) -> list[Finding]:
    out = []
    for ex in ev.execs:
        if ex.command[:2] == ("getent", "hosts") and ex.exit_code not in (0, None):
            name = ex.command[2]
            out.append(
                Finding(
                    "dns-failure",
                    f"service {name}",
                    f"{name} does not resolve from {ex.pod}",
                    (f"{ex.ref}: exit {ex.exit_code} {ex.output.strip()}".strip(),),
                    "check CoreDNS (kubectl -n kube-system get pods -l k8s-app=kube-dns) and that the "
                    "Service exists in the namespace",
                )
            )
    lines = [line for lg in ev.logs for line in lg.lines if DNS_ERRORS.search(line)]
    if lines and not out:
        out.append(
            Finding(
                "dns-failure",
                "logs",
                "name resolution fails in the logs",
                tuple(lines[:3]),
                "check CoreDNS and the service names the pods call",
            )
        )
    return out


def _reach(ev: Evidence) -> list[Finding]:
    out = []
    for svc in ev.services:
        if svc.endswith("-headless"):
            continue
        if ev.ready_endpoints.get(svc, 0) == 0:
            out.append(
                Finding(
                    "no-ready-endpoints",
                    f"service {svc}",
                    f"{svc} has no ready endpoints",
                    (f"endpointslices of {svc}: 0 ready endpoints",),
                    "its pods are not ready: run runbook.model-loading / runbook.gpu-oom",
                )
            )
    for ex in ev.execs:
        if ex.command and ex.command[0] in ("curl", "wget") and ex.exit_code not in (0, None):
            url = ex.command[-1]
            out.append(
                Finding(
                    "unreachable",
                    url,
                    f"{url} does not answer from {ex.pod}",
                    (f"{ex.ref}: exit {ex.exit_code} {ex.output.strip()}".strip(),),
                    "the name resolves but the port does not answer: NetworkPolicies, security groups "
                    "for pods, the container's port",
                )
            )
    return out


def _timeouts(ev: Evidence, platform: Platform) -> Finding | None:
    lines = [line for lg in ev.logs for line in lg.lines if TIMEOUTS.search(line)]
    if not lines:
        return None
    current = platform.tuning.LLM_REQUEST_TIMEOUT
    fix = None
    advice = f"requests time out although the gateway already waits {current:g} s: find the slow backend"
    if current < SEED_REQUEST_TIMEOUT_S:
        fix = Fix((("tuning.LLM_REQUEST_TIMEOUT", SEED_REQUEST_TIMEOUT_S),), f"{SEED} fix 3 (REQUEST_TIMEOUT 300)")
        advice = f"let the gateway wait {SEED_REQUEST_TIMEOUT_S} s for a completion (now {current:g} s)"
    return Finding(
        "request-timeouts", "logs", f"{len(lines)} timeout line(s) in the logs", tuple(lines[:3]), advice, fix
    )


def _one_zone(ev: Evidence, platform: Platform) -> Finding | None:
    inference = {s.name for s in platform.by_role(Role.INFERENCE)}
    zones: Counter[str] = Counter()
    placed: list[str] = []
    for pod in ev.pods:
        node = ev.node(pod.node) if pod.node else None
        if pod.service in inference and node is not None and node.zone:
            zones[node.zone] += 1
            placed.append(f"{pod.name} on {node.name} ({node.zone})")
    if sum(zones.values()) < 2 or len(zones) > 1 or len(platform.eks.zone_list) < 2:
        return None
    fix = None
    if platform.eks.inference.zone_spread != "required":
        fix = Fix((("eks.inference.zone_spread", "required"),), f"{SEED} fix 1 (Pod Anti-Affinity로 분산 배치)")
    zone = next(iter(zones))
    return Finding(
        "inference-in-one-zone",
        f"zone {zone}",
        f"all {sum(zones.values())} inference pods run in {zone} of {len(platform.eks.zone_list)} zones",
        tuple(placed),
        "spread inference pods across zones (required anti-affinity)",
        fix,
    )


def classify(ev: Evidence, platform: Platform) -> Diagnosis:
    out = Diagnosis("network", list(ev.looked_at))
    out.findings += _dns(ev)
    out.findings += _reach(ev)
    for found in (_timeouts(ev, platform), _one_zone(ev, platform)):
        if found is not None:
            out.findings.append(found)
    return out
