"""The watch's rule-first checks (seed 000), all in parallel, each under its own timeout.

Containers (through the stack's Target: Docker or Kubernetes), disk per mount, the health sweep
of runbook.health (down / degraded, load level; seed 001's latency baseline for backends without
a load API), a "can it still generate" probe on each inference backend (llama.cpp #27388: a
server can answer /health 200 while it no longer generates), GPU memory and temperature where
nvidia-smi answers, expected peers (tailscale, else TCP), and optionally Prometheus' firing
alerts. Every service, port and path comes from the service table. A check that cannot run
(timeout, exception) becomes one issue with a stable key: `check:{host}:{check}:error`.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from infra.observability.scrape import host_label
from infra.spec.defaults import HOST_ROOT_ENV, WATCH_SERVICE
from infra.spec.model import Platform, Role, Service
from runbooks.watch import baseline
from runbooks.watch.keys import CheckResult, Issue, check_error
from runbooks.watch.store import StateFile

__all__ = ["CHECKS", "run_checks"]

Check = Callable[[Platform, StateFile, httpx.AsyncClient], Awaitable[list[Issue]]]


def watched(platform: Platform) -> list[Service]:
    """The services the watch checks: those the stack's target runs (on EKS the program leaves
    monitoring to the cluster's operators: no Prometheus workload to find), less the ignored ones."""
    skip = set(platform.watch.ignore_services) | {WATCH_SERVICE}
    running = platform.enabled()
    if platform.target == "eks":
        from infra.targets.k8s.workloads import eks_services

        running = eks_services(platform)
    return [s for s in running if s.name not in skip and s.role is not Role.TEST_SUPPORT]


def _issue(platform: Platform, category: str, svc: Service | None, target: str, cond: str, text: str) -> Issue:
    return Issue(
        category,
        host_label(platform),
        target,
        cond,
        text,
        service=svc.name if svc else None,
        role=svc.role.value if svc else None,
    )


def _container_issues(platform: Platform) -> list[Issue]:
    from runbooks.targets import target_for

    target = target_for(platform)
    out: list[Issue] = []
    for svc in watched(platform):
        st = target.state(svc.name)
        conds: list[tuple[str, str]] = []
        if st.status in ("restarting", "paused"):
            conds.append((st.status, f"container {svc.name} is {st.status}"))
        elif st.status != "running":
            code = f", exit code {st.exit_code}" if st.exit_code is not None else ""
            conds.append((st.status, f"container {svc.name} is {st.status}{code}"))
        if st.oom_killed:
            conds.append(("oom-killed", f"container {svc.name} was OOM-killed"))
        if st.running and st.health == "unhealthy":
            conds.append(("unhealthy", f"container {svc.name} is running but its health check fails"))
        out.extend(_issue(platform, "docker", svc, svc.name, c, t) for c, t in conds)
    return out


async def containers(platform: Platform, state: StateFile, client: httpx.AsyncClient) -> list[Issue]:
    return await asyncio.to_thread(_container_issues, platform)


async def disk(platform: Platform, state: StateFile, client: httpx.AsyncClient) -> list[Issue]:
    limit = platform.watch.disk_warn_pct or platform.daily_check.disk_warn_pct
    out = []
    host_root = os.environ.get(HOST_ROOT_ENV, "")  # the watch container sees the host's / there
    for mount in platform.watch.disk_mounts:
        du = shutil.disk_usage(host_root + mount if host_root else mount)
        pct = 100 * (1 - du.free / du.total) if du.total else 0.0
        if pct >= limit:
            text = f"disk {mount} is {pct:.1f} % used ({du.free / 2**30:.1f} GiB free; threshold {limit:g} %)"
            out.append(_issue(platform, "disk", None, mount, "high", text))
    return out


async def health(platform: Platform, state: StateFile, client: httpx.AsyncClient) -> list[Issue]:
    """runbook.health's sweep; seed 001's baseline turns latency into a load level where /slots is off."""
    from runbooks.health.runbook import sweep

    services = [s for s in watched(platform) if s.role is not Role.MONITORING]
    report = await sweep(platform, services, client)
    out = []
    for row in report.services:
        svc = platform.services[row.service]
        if row.state in ("down", "unreachable"):
            out.append(_issue(platform, "health", svc, row.service, "down", f"{row.service} is down: {row.error}"))
        elif row.state == "loading":
            out.append(_issue(platform, "health", svc, row.service, "degraded", f"{row.service}: {row.error}"))
        elif row.up and row.latency_ms is not None and row.load is None:
            b = state.baselines.get(row.service, baseline.Baseline())
            lvl = baseline.level(b, row.latency_ms) if b.samples >= baseline.GUARD_SAMPLES else "idle"
            state.baselines[row.service] = baseline.update(b, row.latency_ms)
            if lvl == "busy":
                text = f"{row.service} answers in {row.latency_ms:.0f} ms, over 5x its {b.ms:.0f} ms baseline"
                out.append(_issue(platform, "health", svc, row.service, "degraded", text))
    return out


async def _generate_one(platform: Platform, svc: Service, client: httpx.AsyncClient) -> Issue | None:
    cfg = platform.watch
    body = {
        "messages": [{"role": "user", "content": "Reply with one word: ok"}],
        "max_tokens": cfg.generate_max_tokens,
        "temperature": 0,
    }
    t0 = time.monotonic()
    try:
        resp = await client.post(platform.url(svc, "/v1/chat/completions"), json=body, timeout=cfg.generate_budget_s)
    except httpx.TimeoutException:
        text = f"{svc.name} did not complete {cfg.generate_max_tokens} tokens within {cfg.generate_budget_s:g} s"
        return _issue(platform, "generate", svc, svc.name, "stuck", text)
    except httpx.HTTPError as err:
        return _issue(platform, "generate", svc, svc.name, "failed", f"{svc.name} completion failed: {err!r}"[:300])
    took = time.monotonic() - t0
    if resp.status_code != 200:
        return _issue(platform, "generate", svc, svc.name, "failed", f"{svc.name} completion: HTTP {resp.status_code}")
    if took > cfg.generate_budget_s:
        text = f"{svc.name} took {took:.1f} s for {cfg.generate_max_tokens} tokens"
        return _issue(platform, "generate", svc, svc.name, "stuck", text)
    return None


async def generate(platform: Platform, state: StateFile, client: httpx.AsyncClient) -> list[Issue]:
    if not platform.watch.generate_probe:
        return []
    backends = [
        s for s in watched(platform) if s.llama is not None and not s.llama.embeddings and platform.reachable(s)
    ]
    found = await asyncio.gather(*(_generate_one(platform, s, client) for s in backends))
    return [i for i in found if i is not None]


def _gpu_issues(platform: Platform) -> list[Issue]:
    from runbooks.daily.gpu import nvidia_smi_command, parse_smi_extras, run_command
    from runbooks.gpu.memory import parse_nvidia_smi_csv

    cmd = nvidia_smi_command(platform)
    if cmd is None:
        return []  # no nvidia-smi on this host: nothing to watch (daily-check reports it)
    text = run_command(cmd)
    cfg = platform.watch
    hot = cfg.gpu_temp_warn_c or platform.daily_check.gpu_temp_warn_c
    out = []
    for m in parse_nvidia_smi_csv(text):
        if 100 * m.ratio >= cfg.gpu_memory_warn_pct:
            out.append(_issue(platform, "gpu", None, m.gpu, "memory-high", f"GPU {m.gpu} memory {100 * m.ratio:.1f} %"))
    for gpu, x in parse_smi_extras(text).items():
        if x.temp_c is not None and x.temp_c >= hot:
            out.append(_issue(platform, "gpu", None, gpu, "hot", f"GPU {gpu} at {x.temp_c:.0f} °C (limit {hot:g})"))
    return out


async def gpu(platform: Platform, state: StateFile, client: httpx.AsyncClient) -> list[Issue]:
    return await asyncio.to_thread(_gpu_issues, platform)


def _tailscale_online() -> set[str] | None:
    exe = shutil.which("tailscale")
    if exe is None:
        return None
    proc = subprocess.run([exe, "status", "--json"], capture_output=True, text=True, timeout=10, check=True)
    data = json.loads(proc.stdout)
    peers = [data.get("Self") or {}, *(data.get("Peer") or {}).values()]
    return {str(p.get("HostName", "")).lower() for p in peers if p.get("Online", True)}


async def _tcp(host: str, port: int, timeout_s: float) -> bool:
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout_s)
    except (OSError, TimeoutError):
        return False
    writer.close()
    return True


async def peers(platform: Platform, state: StateFile, client: httpx.AsyncClient) -> list[Issue]:
    wanted = platform.watch.peers
    if not wanted:
        return []
    online = await asyncio.to_thread(_tailscale_online)
    out = []
    for peer in wanted:
        host, _, port = peer.rpartition(":") if ":" in peer else (peer, "", "")
        if port.isdigit():
            ok = await _tcp(host, int(port), min(5.0, platform.watch.check_timeout_s))
            how = f"TCP {peer}"
        elif online is not None:
            ok, how = peer.lower() in online, "tailscale status"
        else:
            ok, how = False, "no tailscale here and no host:port to try"
        if not ok:
            out.append(_issue(platform, "peer", None, peer, "offline", f"peer {peer} unreachable ({how})"))
    return out


async def prometheus(platform: Platform, state: StateFile, client: httpx.AsyncClient) -> list[Issue]:
    if not platform.watch.prometheus_alerts:
        return []
    from runbooks.daily.prom import prometheus_url

    url = prometheus_url(platform, platform.watch.prometheus_url)
    if not url:
        return []
    resp = await client.get(f"{url.rstrip('/')}/api/v1/alerts", timeout=platform.watch.check_timeout_s)
    resp.raise_for_status()
    out = []
    for a in resp.json()["data"]["alerts"]:
        if a.get("state") != "firing":
            continue
        labels: dict[str, Any] = a.get("labels") or {}
        where = labels.get("service") or labels.get("instance") or "-"
        summary = (a.get("annotations") or {}).get("summary") or labels.get("alertname", "alert")
        text = f"Prometheus alert {labels.get('alertname')} ({labels.get('severity', '?')}) on {where}: {summary}"
        out.append(_issue(platform, "prometheus", None, str(labels.get("alertname")), str(where), text))
    return out


CHECKS: dict[str, Check] = {
    "containers": containers,
    "disk": disk,
    "health": health,
    "generate": generate,
    "gpu": gpu,
    "peers": peers,
    "prometheus": prometheus,
}


async def _one(name: str, check: Check, platform: Platform, state: StateFile, client: httpx.AsyncClient) -> CheckResult:
    t0 = time.monotonic()
    host = host_label(platform)
    timeout = platform.watch.check_timeout_s
    try:
        issues = await asyncio.wait_for(check(platform, state, client), timeout)
    except TimeoutError:
        return check_error(name, host, f"no answer within {timeout:g} s", time.monotonic() - t0)
    except Exception as err:  # a broken check is an issue, never a crashed cycle
        return check_error(name, host, f"{type(err).__name__}: {err}", time.monotonic() - t0)
    return CheckResult(name, True, tuple(issues), round(time.monotonic() - t0, 3))


async def run_checks(platform: Platform, state: StateFile, only: dict[str, Check] | None = None) -> list[CheckResult]:
    """Every check at once; each bounded by `check_timeout_s`, so a cycle takes the slowest one's time."""
    checks = only or CHECKS
    async with httpx.AsyncClient() as client:
        return list(await asyncio.gather(*(_one(n, c, platform, state, client) for n, c in checks.items())))
