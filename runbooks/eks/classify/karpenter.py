"""runbook.karpenter-diagnose's classifier: why a pod stays Pending, and the NodePool fix.

Seed 003 "Karpenter 노드 프로비저닝 실패": pending pods (insufficient capacity), NodeClaims stuck;
fixes: more instance types, more zones, on-demand fallback (and, beyond the seed, a NodePool
limit that has been reached). Checks per pending pod, in the order that decides the fix: the pool
taints it does not tolerate, a zone / instance type / capacity type it requires that its pool
does not offer, the pool's limit, then NodeClaims that failed to launch or never registered.
The scheduler's and Karpenter's event lines are the evidence.
"""

from __future__ import annotations

from infra.spec.eks import GPU_FAMILIES, CpuPool, GpuPool, instance_family
from infra.spec.model import Platform
from runbooks.eks.diagnosis import Diagnosis, Finding, Fix
from runbooks.eks.evidence import (
    CAPACITY_TYPE_KEY,
    FAMILY_KEY,
    GPU,
    INSTANCE_TYPE_KEY,
    NODEPOOL_KEY,
    ZONE_KEY,
    Evidence,
    NodeClaimEvidence,
    NodePoolEvidence,
    PodEvidence,
    quantity,
)
from runbooks.eks.fixes import added, gpu_types_for, raised_limit

__all__ = ["classify", "pool_key"]

ICE = ("InsufficientInstanceCapacity", "insufficient capacity", "InsufficientCapacity", "no instance type")
SEED = "seed 003 Karpenter 노드 프로비저닝 실패"


def pool_key(platform: Platform, pool: str) -> str | None:
    """`eks.gpu_pool` / `eks.cpu_pool`: the stack-config section of NodePool `pool`."""
    if pool == platform.eks.gpu_pool.name:
        return "eks.gpu_pool"
    if pool == platform.eks.cpu_pool.name:
        return "eks.cpu_pool"
    return None


def _config(platform: Platform, pool: str) -> GpuPool | CpuPool | None:
    """The stack's settings of NodePool `pool`: what a fix edits (the cluster's copy may lag)."""
    eks = platform.eks
    return eks.gpu_pool if pool == eks.gpu_pool.name else eks.cpu_pool if pool == eks.cpu_pool.name else None


def _pool_of(pod: PodEvidence, ev: Evidence, platform: Platform) -> NodePoolEvidence | None:
    wanted = pod.values_of(NODEPOOL_KEY)
    name = wanted[0] if wanted else (platform.eks.gpu_pool.name if pod.gpu_request else platform.eks.cpu_pool.name)
    return ev.pool(name)


def _lines(pod: PodEvidence, ev: Evidence, *reasons: str) -> tuple[str, ...]:
    return tuple(e.line for e in ev.events_for("Pod", pod.name) if not reasons or e.reason in reasons)


def _matching(lines: tuple[str, ...], *needles: str) -> tuple[str, ...]:
    found = tuple(line for line in lines if any(n.lower() in line.lower() for n in needles))
    return found or lines


def _toleration(pod: PodEvidence, pool: NodePoolEvidence, lines: tuple[str, ...]) -> Finding | None:
    untolerated = [t for t in pool.taints if not pod.tolerates(t)]
    if not untolerated:
        return None
    taint = untolerated[0]
    shown = f"{taint.get('key')}={taint.get('value', '')}:{taint.get('effect')}"
    return Finding(
        "missing-toleration",
        pod.ref,
        f"does not tolerate NodePool {pool.name}'s taint {shown}",
        _matching(lines, "untolerated taint", "did not tolerate", "taint"),
        f"the pod needs the toleration {{key: {taint.get('key')}, operator: Exists, effect: {taint.get('effect')}}}; "
        "the EKS program writes it for services with gpus > 0: redeploy the workload (invoke stack.up) "
        "or fix the manifest that made this pod. Not a NodePool change.",
    )


def _zones(pod: PodEvidence, pool: NodePoolEvidence, platform: Platform, lines: tuple[str, ...]) -> Finding | None:
    wanted, offered = pod.values_of(ZONE_KEY), pool.values_of(ZONE_KEY)
    if not wanted or offered is None or set(wanted) & set(offered):
        return None
    region = platform.eks.region
    inside = [z for z in wanted if z.startswith(region)]
    fix = None
    advice = f"pods may only use zones of region {region}: fix the pod's zone requirement"
    if inside:
        fix = Fix((("eks.zones", tuple(added(platform.eks.zone_list, inside))),), f"{SEED} fix 2 (다중 AZ 지원)")
        advice = f"add {', '.join(inside)} to the pool's zones (eks.zones), so Karpenter may launch there"
    return Finding(
        "zone-not-covered",
        pod.ref,
        f"requires zone {', '.join(wanted)}; NodePool {pool.name} offers {', '.join(offered)}",
        _matching(lines, "zone", "node affinity", "incompatible"),
        advice,
        fix,
    )


def _instance_types(
    pod: PodEvidence, pool: NodePoolEvidence, platform: Platform, lines: tuple[str, ...]
) -> Finding | None:
    wanted = pod.values_of(INSTANCE_TYPE_KEY)
    key = pool_key(platform, pool.name)
    types, families = pool.values_of(INSTANCE_TYPE_KEY), pool.values_of(FAMILY_KEY)
    if not wanted:
        return None
    if types is not None and set(wanted) & set(types):
        return None
    if types is None and families is not None and {instance_family(t) for t in wanted} & set(families):
        return None
    fix = None
    gpu = [t for t in wanted if "." in t and instance_family(t) in GPU_FAMILIES]
    config = platform.eks.gpu_pool
    if key == "eks.gpu_pool" and gpu:
        if not config.instance_families:
            new_types = tuple(added(config.instance_types, gpu))
            fix = Fix(((f"{key}.instance_types", new_types),), f"{SEED} fix 1 (다중 인스턴스 타입)")
        else:
            new = added(config.instance_families, [instance_family(t) for t in gpu])
            fix = Fix(((f"{key}.instance_families", tuple(new)),), f"{SEED} fix 1 (다중 인스턴스 타입)")
    return Finding(
        "instance-type-not-in-pool",
        pod.ref,
        f"requires instance type {', '.join(wanted)}; NodePool {pool.name} offers {', '.join(types or families or ())}",
        _matching(lines, "instance-type", "instance type", "incompatible", "node affinity"),
        "add the type to the pool" if fix else "the type is no GPU family the pool can take: fix the pod's requirement",
        fix,
    )


def _capacity_type(
    pod: PodEvidence, pool: NodePoolEvidence, platform: Platform, lines: tuple[str, ...]
) -> Finding | None:
    wanted, offered = pod.values_of(CAPACITY_TYPE_KEY), pool.values_of(CAPACITY_TYPE_KEY)
    key = pool_key(platform, pool.name)
    if not wanted or offered is None or set(wanted) & set(offered) or key is None:
        return None
    config = _config(platform, pool.name)
    base = config.capacity_types if config else offered
    fix = Fix(((f"{key}.capacity_types", tuple(added(base, wanted))),), f"{SEED} fix 3 (On-Demand 폴백)")
    return Finding(
        "capacity-type-not-in-pool",
        pod.ref,
        f"requires capacity type {', '.join(wanted)}; NodePool {pool.name} offers {', '.join(offered)}",
        _matching(lines, "capacity-type", "incompatible"),
        f"let the pool launch {', '.join(wanted)} nodes too",
        fix,
    )


def _limit(
    pod: PodEvidence,
    pool: NodePoolEvidence,
    pending: list[PodEvidence],
    ev: Evidence,
    platform: Platform,
    lines: tuple[str, ...],
) -> Finding | None:
    key = pool_key(platform, pool.name)
    said = [line for line in lines if "exceed limits" in line or "limits exceeded" in line.lower()]
    said += [line for lg in ev.controller_logs for line in lg.lines if "exceed limits" in line and pool.name in line]
    if GPU in pool.limits and pod.gpu_request:
        used = quantity(pool.resources.get(GPU))
        limit = quantity(pool.limits[GPU])
        wanted = sum(p.gpu_request for p in pending)
        if used + pod.gpu_request <= limit and not said:
            return None
        new = raised_limit(limit, used, wanted)
        fix = Fix(
            ((f"{key}.gpu_limit", new),), "NodePool limits (Karpenter v1 spec.limits; beyond seed 003's three fixes)"
        )
        return Finding(
            "nodepool-limit-reached",
            f"nodepool {pool.name}",
            f"{used:g} of {limit:g} {GPU} provisioned; pending pods want {wanted:g} more",
            tuple(said) or (f"NodePool {pool.name}: status.resources {GPU}={used:g}, spec.limits {GPU}={limit:g}",),
            f"raise the pool's GPU limit to {new} (or free GPUs)",
            fix if key == "eks.gpu_pool" else None,
        )
    if said:
        return Finding(
            "nodepool-limit-reached",
            f"nodepool {pool.name}",
            "Karpenter says the pool's limits are exceeded",
            tuple(said),
            f"raise {key}'s cpu_limit / memory_limit_gib",
        )
    return None


def _launch_failures(pool: NodePoolEvidence, ev: Evidence) -> list[NodeClaimEvidence]:
    return [c for c in ev.nodeclaims if c.nodepool == pool.name and c.status("Launched") == "False"]


def _claim_lines(claims: list[NodeClaimEvidence], ev: Evidence) -> tuple[str, ...]:
    lines = [
        f"nodeclaim {c.name}: Launched=False {c.conditions['Launched'][1]}: {c.conditions['Launched'][2]}"
        for c in claims
        if "Launched" in c.conditions
    ]
    lines += [e.line for c in claims for e in ev.events_for("NodeClaim", c.name)]
    return tuple(lines)


def _capacity(pool: NodePoolEvidence, ev: Evidence, platform: Platform) -> Finding | None:
    """NodeClaims that failed to launch for want of EC2 capacity (or Karpenter says so)."""
    failed = _launch_failures(pool, ev)
    lines = _claim_lines(failed, ev)
    lines += tuple(e.line for e in ev.events if e.reason == "InsufficientCapacityError")
    lines += tuple(line for lg in ev.controller_logs for line in lg.lines if any(n in line for n in ICE))
    lines = tuple(dict.fromkeys(line for line in lines if any(n.lower() in line.lower() for n in ICE)))
    if not lines:
        return None
    key = pool_key(platform, pool.name)
    gpu = key == "eks.gpu_pool"
    config = _config(platform, pool.name)
    caps = config.capacity_types if config else (pool.values_of(CAPACITY_TYPE_KEY) or ())
    types = None if config is None else getattr(config, "instance_types", None) if gpu else None
    if gpu and config is not None and config.instance_families:
        types = None
    fix = None
    if key and "on-demand" not in caps:
        fix = Fix(((f"{key}.capacity_types", tuple(added(caps, ["on-demand"]))),), f"{SEED} fix 3 (On-Demand 폴백)")
        advice = "let the pool fall back to on-demand when spot has no capacity"
    elif gpu and types is not None and gpu_types_for(types):
        new = tuple(added(types, gpu_types_for(types)))
        fix = Fix(((f"{key}.instance_types", new),), f"{SEED} fix 1 (다중 인스턴스 타입)")
        advice = f"offer more instance types: {', '.join(new)}"
    elif len(pool.values_of(ZONE_KEY) or ()) < 3:
        zones = tuple(added(platform.eks.zone_list, [f"{platform.eks.region}{z}" for z in "abc"]))
        fix = Fix((("eks.zones", zones),), f"{SEED} fix 2 (다중 AZ 지원)")
        advice = f"offer more zones: {', '.join(zones)}"
    else:
        advice = (
            "the pool already has on-demand, the seed's instance types and 3 zones: check EC2 quotas "
            "(aws service-quotas) and `aws ec2 describe-instance-type-offerings` for the types"
        )
    return Finding(
        "insufficient-capacity",
        f"nodepool {pool.name}",
        f"{len(failed)} NodeClaim(s) failed to launch: no EC2 capacity for the pool's types/zones/capacity types",
        lines,
        advice,
        fix,
    )


def _stuck(pool: NodePoolEvidence, ev: Evidence) -> Finding | None:
    """NodeClaims launched but not registered, or never reconciled (no Launched condition yet)."""
    stuck = [
        c
        for c in ev.nodeclaims
        if c.nodepool == pool.name and c.status("Registered") != "True" and c.status("Launched") != "False"
    ]
    if not stuck:
        return None
    lines = tuple(
        f"nodeclaim {c.name}: " + ", ".join(f"{t}={s} {r}".strip() for t, (s, r, _m) in sorted(c.conditions.items()))
        for c in stuck
    )
    launched = [c for c in stuck if c.status("Launched") == "True"]
    if launched:
        summary = f"{len(launched)} NodeClaim(s) launched but their node never registered"
        advice = (
            "the instance runs but did not join: check the EC2NodeClass (role, AMI alias, subnets, security "
            "groups: `kubectl describe ec2nodeclass`) and the instance's console log"
        )
    else:
        summary = f"{len(stuck)} NodeClaim(s) not launched yet (conditions Unknown)"
        advice = "Karpenter has not acted on them: read its controller logs (below) and its pod's state"
    return Finding("nodeclaim-stuck", f"nodepool {pool.name}", summary, lines, advice)


def classify(ev: Evidence, platform: Platform) -> Diagnosis:
    """Causes of the pending pods, per pod, then per pool."""
    out = Diagnosis("karpenter-diagnose", list(ev.looked_at))
    pending = [p for p in ev.pods if p.pending]
    by_pool: dict[str, list[PodEvidence]] = {}
    for pod in pending:
        pool = _pool_of(pod, ev, platform)
        lines = _lines(pod, ev, "FailedScheduling")
        if pool is None:
            out.findings.append(
                Finding(
                    "no-nodepool",
                    pod.ref,
                    "no NodePool matches the pod",
                    lines,
                    "deploy the NodePools (invoke stack.up) or fix the pod's karpenter.sh/nodepool",
                )
            )
            continue
        by_pool.setdefault(pool.name, []).append(pod)
        for check in (
            _toleration(pod, pool, lines),
            _zones(pod, pool, platform, lines),
            _instance_types(pod, pool, platform, lines),
            _capacity_type(pod, pool, platform, lines),
        ):
            if check is not None:
                out.findings.append(check)
    for name, pods in by_pool.items():
        pool = ev.pool(name)
        assert pool is not None
        lines = tuple(line for p in pods for line in _lines(p, ev, "FailedScheduling"))
        found = _limit(pods[0], pool, pods, ev, platform, lines) or _capacity(pool, ev, platform) or _stuck(pool, ev)
        if found is not None:
            out.findings.append(found)
        elif not any(f.subject in {p.ref for p in pods} for f in out.findings):
            out.findings.append(_unexplained(pods, pool, ev, lines))
    for pool in ev.nodepools:
        ready = pool.conditions.get("Ready")
        if ready and ready[0] == "False":
            out.findings.append(
                Finding(
                    "nodepool-not-ready",
                    f"nodepool {pool.name}",
                    f"Ready=False {ready[1]}",
                    (f"nodepool {pool.name}: Ready=False {ready[1]}: {ready[2]}",),
                    "Karpenter will not launch from it: check its EC2NodeClass's status",
                )
            )
    return out


def _unexplained(pods: list[PodEvidence], pool: NodePoolEvidence, ev: Evidence, lines: tuple[str, ...]) -> Finding:
    errors = tuple(
        line for lg in ev.controller_logs for line in lg.lines if '"level":"ERROR"' in line or " ERROR " in line
    )
    return Finding(
        "no-provisioning",
        f"nodepool {pool.name}",
        f"{len(pods)} pod(s) pending and the pool looks able to take them, but no NodeClaim launched",
        (lines + errors)[:8],
        "Karpenter did not act: check that its controller runs and read its logs "
        "(kubectl logs -n karpenter -l app.kubernetes.io/name=karpenter)",
    )
