"""Seed 004's 로그 로테이션: each container's log size and whether its log driver rotates.

Docker keeps what the log driver keeps: `json-file` without `max-size` grows until the disk is
full (the default), `local` rotates by itself (20 MiB x 5), drivers that ship logs off the host
(journald, syslog, fluentd, awslogs, gelf, ...) leave rotation to their collector. Sizes are the
files under the container's LogPath (rotated `.1`, `.2`, ... included), readable when the engine
is this machine's. On Kubernetes the kubelet rotates container logs; their size is not readable
through the API, so that item is n/a with the reason.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from infra.spec.model import Platform, Service
from runbooks.daily.disk import local_engine
from runbooks.daily.findings import Finding, Verdict
from runbooks.targets.base import Target, TargetError

__all__ = ["log_files_bytes", "logs", "rotation"]

SHIPPING = ("journald", "syslog", "fluentd", "awslogs", "gelf", "splunk", "gcplogs", "logentries", "etwlogs")
HOW = "docker inspect: HostConfig.LogConfig (driver, max-size, max-file) and the size of LogPath*"


def rotation(log_config: dict[str, Any]) -> tuple[bool | None, str]:
    """(rotates?, how) for a container's LogConfig; None when rotation is not the engine's job."""
    driver = log_config.get("Type") or "?"
    opts = log_config.get("Config") or {}
    if driver in ("json-file", "local"):
        size, files = opts.get("max-size"), opts.get("max-file")
        if size:
            return True, f"{driver}, max-size {size} x max-file {files or ('5' if driver == 'local' else '1')}"
        if driver == "local":
            return True, "local, its default rotation (20m x 5)"
        return False, "json-file without max-size: never rotated"
    if driver == "none":
        return None, "driver none: no logs are kept"
    if driver in SHIPPING:
        return None, f"{driver}: shipped off the host, rotation is the collector's"
    return None, f"driver {driver}: rotation unknown to this check"


def log_files_bytes(log_path: str) -> int:
    """Bytes of the log file and its rotated siblings (`<path>.1`, ...)."""
    path = Path(log_path)
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*") if p.is_file())


def _finding(platform: Platform, svc: Service, attrs: dict[str, Any]) -> Finding:
    cfg = platform.weekly_check
    rotates, how_kept = rotation((attrs.get("HostConfig") or {}).get("LogConfig") or {})
    log_path = attrs.get("LogPath") or ""
    size_mib = None
    if log_path and local_engine(platform) and os.path.exists(log_path):
        size_mib = log_files_bytes(log_path) / 2**20
    normal = f"rotated, < {cfg.log_warn_mib:g} MiB (fail at {cfg.log_fail_mib:g} MiB)"
    data = {"rotates": rotates, "how_kept": how_kept, "size_mib": round(size_mib, 3) if size_mib is not None else None}
    size = f"{size_mib:.1f} MiB" if size_mib is not None else "size not readable here (engine on another machine)"
    verdict: Verdict = "ok"
    if size_mib is not None and size_mib > cfg.log_fail_mib:
        verdict = "fail"
    elif rotates is False or (size_mib is not None and size_mib > cfg.log_warn_mib):
        verdict = "warn"
    if rotates is None and size_mib is None:
        verdict = "n/a"
    hint = "; set max-size/max-file (or the local driver)" if rotates is False else ""
    return Finding("logs", svc.name, verdict, f"{size}, {how_kept}{hint}", data, HOW, normal)


def logs(platform: Platform, target: Target, services: list[Service]) -> list[Finding]:
    if platform.target == "eks":
        why = ("the kubelet rotates container logs (containerLogMaxSize, default 10Mi x 5 files); "
               "their size is not readable through the Kubernetes API")  # fmt: skip
        return [Finding("logs", "-", "n/a", why, {}, "Kubernetes: kubelet log rotation")]
    try:
        target.ping()
    except TargetError as err:
        return [Finding("logs", "-", "fail", str(err), {}, HOW)]
    out = []
    for svc in services:
        try:
            attrs = target.inspect(svc.name)
        except TargetError as err:
            out.append(Finding("logs", svc.name, "n/a", f"no container: {err}", {}, HOW))
            continue
        out.append(_finding(platform, svc, attrs))
    return out
