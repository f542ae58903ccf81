"""Seed 004's `df -h /mnt/e/ai-data`, for this stack: the Docker data root and every volume or host
path its containers mount, plus node-exporter's view (the DiskSpaceLow alert's own query).

Used share is 1 - available / size, the DiskSpaceLow rule's definition (what `df` calls Use%
up to rounding; root-reserved blocks count as used).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from typing import Any

from infra.spec.daily_check import DailyCheck
from infra.spec.model import Platform, Service
from runbooks.daily.findings import Finding, by_level
from runbooks.daily.prom import Prometheus, condition


@dataclass(frozen=True)
class DiskPath:
    path: str
    what: str  # "docker data root", "volume inferops-models", "bind mount of node-exporter"


def local_engine(platform: Platform) -> bool:
    """Whether the engine's paths are this machine's paths (no `ssh://` or `tcp://` host in between)."""
    host = platform.docker_host or os.environ.get("DOCKER_HOST") or "unix://"
    return host.startswith("unix://")


def mount_paths(inspect: dict[str, Any], service: str) -> list[DiskPath]:
    """Host-side paths of a container's mounts (`docker inspect` Mounts: volumes and bound directories;
    single bound files are rendered config, not data)."""
    out = []
    for m in inspect.get("Mounts") or []:
        source = m.get("Source")
        if not source:
            continue
        if m.get("Type") == "volume":
            out.append(DiskPath(source, f"volume {m.get('Name')} ({service})"))
        elif m.get("Type") == "bind" and not os.path.isfile(source):  # data dirs, not mounted config files
            out.append(DiskPath(source, f"bind mount of {service}"))
    return out


def docker_paths(client: Any, inspects: dict[str, dict[str, Any]]) -> list[DiskPath]:
    """The data root (`docker info` DockerRootDir) and each service's mounts, each path once."""
    paths = [DiskPath(client.info()["DockerRootDir"], "docker data root")]
    for service, attrs in inspects.items():
        paths.extend(mount_paths(attrs, service))
    seen: set[str] = set()
    unique = []
    for p in paths:
        if p.path not in seen:
            seen.add(p.path)
            unique.append(p)
    return unique


def usage_finding(p: DiskPath, cfg: DailyCheck) -> Finding:
    """`df` of one path on this machine, judged by the DiskSpaceLow thresholds from config."""
    if not os.path.exists(p.path):
        return Finding("disk", p.path, "n/a", f"{p.what}: not visible from this machine (engine in a VM?)")
    du = shutil.disk_usage(p.path)
    used_pct = 100 * (1 - du.free / du.total) if du.total else 0.0
    verdict = by_level(used_pct, cfg.disk_warn_pct, cfg.disk_fail_pct)
    detail = f"{used_pct:.1f} % used, {du.free / 2**30:.1f} GiB free of {du.total / 2**30:.1f} GiB ({p.what})"
    data = {"used_pct": round(used_pct, 2), "free_bytes": du.free, "total_bytes": du.total, "what": p.what}
    return Finding("disk", p.path, verdict, detail, data)


def host_disks(platform: Platform, target: Any, services: list[Service], cfg: DailyCheck) -> list[Finding]:
    """Disk use of the Docker host's data paths, read here; n/a when the engine is on another machine."""
    if platform.target != "compose":
        return [Finding("disk", "-", "n/a", "EKS: node disks are node-exporter's (DiskSpaceLow); see below")]
    if not local_engine(platform):
        where = platform.docker_host or os.environ.get("DOCKER_HOST")
        return [Finding("disk", "-", "n/a", f"engine at {where}: its paths are not readable here; see node-exporter")]
    inspects = {}
    for svc in services:
        try:
            inspects[svc.name] = target.inspect(svc.name)
        except Exception:  # a missing container has no mounts to measure; the containers check reports it
            continue
    return [usage_finding(p, cfg) for p in docker_paths(target.client, inspects)]


def node_exporter_disks(prom: Prometheus, cfg: DailyCheck) -> list[Finding]:
    """Every filesystem node-exporter reports, with the DiskSpaceLow rule's query."""
    query = condition("DiskSpaceLow", "warning").query
    out = []
    for s in prom.query(query):
        mount = s.labels.get("mountpoint", "?")
        host = s.labels.get("host") or s.labels.get("instance", "?")
        used_pct = 100 * s.value
        verdict = by_level(used_pct, cfg.disk_warn_pct, cfg.disk_fail_pct)
        data = {"used_pct": round(used_pct, 2), "host": host, "source": "node-exporter"}
        out.append(Finding("disk", f"{host}:{mount}", verdict, f"{used_pct:.1f} % used (node-exporter)", data))
    return out
