"""Seed 004's first, second and fourth items: `docker ps`, `./health_check.sh`, `docker logs | grep -i error`.

Container state and logs come from the framework's target (Docker or Kubernetes), health from
runbook.health's own parallel sweep; nothing here keeps its own list of services or ports.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from infra.spec.model import Platform, Service
from runbooks.daily.findings import Finding, Verdict
from runbooks.health.runbook import NOT_NEEDED, ServiceHealth, sweep
from runbooks.targets.base import ServiceState, Target, TargetError

_DOWN = ("exited", "stopped", "missing", "created", "restarting", "paused")
_VOLATILE = re.compile(
    r"\d{4}-\d\d-\d\d[T ][\d:.,]+Z?|\b0x[0-9a-f]+\b|\b[0-9a-f]{8}-[0-9a-f-]{27}\b|\d+(\.\d+)?", re.IGNORECASE
)


def needed(svc: Service) -> bool:
    """Monitoring and test-support services being down is a warning, not a failure (as in runbook.health)."""
    return svc.role not in NOT_NEEDED


def _soften(verdict: Verdict, svc: Service) -> Verdict:
    return "warn" if verdict == "fail" and not needed(svc) else verdict


def container_finding(svc: Service, st: ServiceState) -> Finding:
    """`docker ps` for one service: running and healthy is ok; restarts warn; down or unhealthy fails."""
    data = {"status": st.status, "health": st.health, "restarts": st.restart_count, "instance": st.instance}
    if st.status == "missing":
        return Finding("containers", svc.name, _soften("fail", svc), "no container (is the stack up?)", data)
    if st.status in _DOWN:
        extra = f" ({st.exit_code})" if st.status == "exited" else ""
        oom = ", OOM-killed" if st.oom_killed else ""
        return Finding("containers", svc.name, _soften("fail", svc), f"{st.status}{extra}{oom}", data)
    detail = f"{st.status}, {st.health if st.health != 'none' else 'no healthcheck'}"
    if st.health == "unhealthy":
        return Finding("containers", svc.name, _soften("fail", svc), detail, data)
    if st.health == "starting" or st.status == "starting":
        return Finding("containers", svc.name, "warn", detail, data)
    if st.restart_count:
        return Finding("containers", svc.name, "warn", f"{detail}, restarted {st.restart_count} times", data)
    return Finding("containers", svc.name, "ok", detail, data)


def containers(target: Target, services: Iterable[Service]) -> list[Finding]:
    """State of every service's container (or workload) through the target; an engine that does not answer fails."""
    services = list(services)
    try:
        target.ping()
    except TargetError as err:
        return [Finding("containers", "-", "fail", str(err))]
    return [container_finding(svc, target.state(svc.name)) for svc in services]


def health_finding(svc: Service, row: ServiceHealth) -> Finding:
    """runbook.health's verdict on one service, with the gateway's and Prometheus' views as warnings."""
    data: dict[str, Any] = {
        "state": row.state,
        "http_status": row.http_status,
        "latency_ms": row.latency_ms,
        "url": row.url,
    }
    if row.load:
        data["load"] = row.load
    if row.state == "skipped":
        return Finding("health", svc.name, "n/a", row.error or "not published", data)
    if row.state == "loading":
        return Finding("health", svc.name, "warn", row.error or "loading", data)
    if not row.up:
        return Finding("health", svc.name, _soften("fail", svc), f"{row.state}: {row.error}", data)
    notes = [f"{row.latency_ms:g} ms"] if row.latency_ms is not None else []
    if row.load:
        notes.append(f"load {row.load['level']}")
    views = [(name, v) for name, v in (("gateway", row.gateway), ("prometheus", row.prometheus)) if v]
    bad = [f"{name} says {v}" for name, v in views if v not in ("healthy", "up")]
    return Finding("health", svc.name, "warn" if bad else "ok", ", ".join(notes + bad) or "up", data)


def health(platform: Platform, services: list[Service]) -> tuple[list[Finding], list[str]]:
    """runbook.health's sweep (parallel, per-service timeouts); returns findings and the sweep's notes."""
    report = asyncio.run(sweep(platform, services))
    rows = {r.service: r for r in report.services}
    return [health_finding(svc, rows[svc.name]) for svc in services], report.notes


@dataclass(frozen=True)
class LogScan:
    lines: int
    matches: int
    top: list[tuple[int, str]]  # (count, an example line) of the most frequent matching lines


def normalise(line: str) -> str:
    """A line with timestamps, numbers and ids blanked and case folded, so repeats of one error group together."""
    return _VOLATILE.sub("#", line.strip()).lower()


def scan_log(text: str, pattern: str, top: int) -> LogScan:
    """`grep -i <pattern>` with a count, and the `top` most frequent matching lines (one example each)."""
    rx = re.compile(pattern, re.IGNORECASE)
    lines = text.splitlines()
    hits = [ln.strip() for ln in lines if rx.search(ln)]
    groups: Counter[str] = Counter()
    example: dict[str, str] = {}
    for ln in hits:
        key = normalise(ln)
        groups[key] += 1
        example.setdefault(key, ln)
    return LogScan(len(lines), len(hits), [(n, example[k]) for k, n in groups.most_common(top)])


def error_logs(
    target: Target, services: Iterable[Service], pattern: str, window_h: float, top: int, max_lines: int
) -> list[Finding]:
    """Per service: lines of the last `window_h` hours matching `pattern`; any match warns."""
    since = time.time() - window_h * 3600
    out = []
    for svc in services:
        try:
            text = target.logs(svc.name, tail=max_lines, since=since)
        except TargetError as err:
            why = "no container" if "no container" in str(err) else str(err)
            out.append(Finding("error-logs", svc.name, "n/a", f"no logs: {why}"))
            continue
        scan = scan_log(text, pattern, top)
        data = {"lines": scan.lines, "matches": scan.matches, "top": [{"count": n, "line": ln} for n, ln in scan.top]}
        if scan.lines >= max_lines:
            data["truncated_at"] = max_lines
        window = f"{window_h:g} h"
        if not scan.matches:
            out.append(Finding("error-logs", svc.name, "ok", f"0 of {scan.lines} lines in {window}", data))
            continue
        first = scan.top[0][1] if scan.top else ""
        detail = f"{scan.matches} of {scan.lines} lines in {window}; top: {first[:160]}"
        out.append(Finding("error-logs", svc.name, "warn", detail, data))
    return out
