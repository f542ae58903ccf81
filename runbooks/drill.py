"""What makes a drill safe to run at 3 a.m., shared by the runbooks that fault something on purpose.

- `scoped_silence`: an Alertmanager silence (API v2) per faulted service, naming exactly the
  alerts its fault fires (from the rules), with the run id in the comment and an end at the
  drill's deadline; expired by a durable cleanup (runner, guard or recover). No Alertmanager in
  the stack, or one that does not answer: said once, the drill goes on.
- `HaltMonitor`: the halt conditions (infra/spec/drills.py) probed every interval while the fault
  is in place (failover-test) or while a restart has services down (their carriers, `carriers_of`);
  a breach halts the run (it rolls back) and the record names condition and value.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

import httpx

from runbooks.framework.silence import alertmanager_url, create, drill_alerts, expire_when_clear, matchers_for
from runbooks.load import percentile

if TYPE_CHECKING:
    from infra.spec.model import Platform, Service
    from runbooks.framework.runner import Run
    from runbooks.load import LoadGenerator

__all__ = ["Breach", "HaltMonitor", "carriers_of", "scoped_silence", "silence_plan"]


def silence_plan(platform: Platform, services: list[str]) -> str:
    """What the silence will be, for the plan (and so for --dry-run)."""
    if not platform.drills.silence:
        return "no silence (inferops:drills.silence is off)"
    if alertmanager_url(platform) is None:
        return "no Alertmanager in the stack: no silence"
    parts = [f'alertname=~"{"|".join(drill_alerts(platform, s))}",service="{s}"' for s in services]
    return "silence " + "; ".join(parts) + " until the drill's deadline"


def scoped_silence(run: Run, services: list[str], until_s: float) -> list[str]:
    """Create the drill's silences (before the fault) and register their expiry; ids created."""
    platform = run.stack_platform
    url = alertmanager_url(platform)
    if not platform.drills.silence:
        return []
    if url is None:
        run.log("[yellow]no Alertmanager in this stack: the drill goes on without a silence[/]")
        return []
    ids: list[str] = []
    for service in services:
        alerts = drill_alerts(platform, service)
        if not alerts:
            continue
        matchers = matchers_for(alerts, service)
        try:
            sid = create(url, matchers, until_s, run.record.id, f"{run.runbook.name} faults {service}")
        except httpx.HTTPError as err:
            run.log(f"[yellow]Alertmanager at {url} did not take a silence ({err}): the drill goes on without one[/]")
            return ids
        data = {"url": url, "id": sid, "matchers": matchers, "clear_within_s": platform.drills.silence_clear_s}
        run.cleanup(
            f"expire silence {sid} ({'|'.join(alerts)} of {service})",
            partial(expire_when_clear, data),
            durable=("expire-silence", data),
            deadline_s=until_s,
        )
        ids.append(sid)
    run.record.measurements.setdefault("silences", []).extend(ids)
    run.log(f"silenced {', '.join(ids)} for {', '.join(services)} until the drill's deadline ({until_s:.0f} s)")
    return ids


@dataclass(frozen=True)
class Breach:
    condition: str
    value: Any
    limit: Any

    def __str__(self) -> str:
        return f"{self.condition} = {self.value} (limit {self.limit})"


_DEFERRED = re.compile(r"^llamacpp:requests_deferred(?:\{[^}]*\})?\s+([0-9.eE+-]+)", re.M)


def carriers_of(platform: Platform, services: Sequence[str]) -> list[str]:
    """The backends that carry the gateway's traffic while `services` are down: the other
    backends of every route they serve, enabled and not themselves among `services`."""
    out: list[str] = []
    enabled = {s.name for s in platform.enabled()}
    for backends in platform.gateway.routes.values():
        if any(name in services for name in backends):
            out += [b for b in backends if b not in services and b in enabled and b not in out]
    return out


class HaltMonitor:
    """Probes the halt conditions every `probe_interval_s` in a thread; halts the run on a breach.

    `carriers` are the backends that must keep serving while the run has something down (the
    drill's secondary; the other backends of a restarted service's routes). `load` is the run's
    own traffic, judged by failed ratio and p95 (None: a runbook that sends none)."""

    def __init__(self, run: Run, load: LoadGenerator | None, carriers: Sequence[str]) -> None:
        self.run = run
        self.load = load
        self.platform = run.stack_platform
        self.carriers = [self.platform.service(name) for name in carriers]
        self.limits = self.platform.drills
        self.probes = 0
        self.last: dict[str, Any] = {name: {} for name in carriers}
        self._failures = dict.fromkeys(carriers, 0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="halt-monitor", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self.limits.probe_interval_s * 3 + 10)
        self.run.record.measurements["halt_probes"] = {"probes": self.probes, "last": self.last}

    def _loop(self) -> None:
        with httpx.Client() as client:
            while not self._stop.wait(self.limits.probe_interval_s):
                breach = self.check(client)
                self.probes += 1
                if breach is not None:
                    self.run.record.measurements["halt"] = {
                        "condition": breach.condition,
                        "value": breach.value,
                        "limit": breach.limit,
                    }
                    self.run.halt(str(breach))
                    return

    def check(self, client: httpx.Client) -> Breach | None:
        """One round of probes: the first breached condition, or None."""
        per_carrier: tuple[Callable[[httpx.Client, Service], Breach | None], ...] = (
            self._health,
            self._slots,
            self._deferred,
        )
        probes: list[Callable[[], Breach | None]] = [self._traffic]
        probes += [partial(probe, client, svc) for svc in self.carriers for probe in per_carrier]
        probes.append(partial(self._gpu, client))
        for probe in probes:
            breach = probe()
            if breach is not None:
                return breach
        return None

    def _traffic(self) -> Breach | None:
        if self.load is None:
            return None
        lim = self.limits
        window = self.load.snapshot(max(0.0, self.load.now() - lim.window_s))
        if len(window) < lim.min_window_requests:
            return None
        failed = sum(not x.ok for x in window) / len(window)
        p95 = percentile([x.latency_s for x in window], 95) or 0.0
        self.last.update(failed_ratio=round(failed, 3), p95_latency_s=round(p95, 3), window_requests=len(window))
        if failed > lim.max_failed_ratio:
            return Breach("gateway failed-request ratio", round(failed, 3), lim.max_failed_ratio)
        if p95 > lim.max_p95_latency_s:
            return Breach("gateway p95 latency s", round(p95, 3), lim.max_p95_latency_s)
        return None

    def _timeout(self, svc: Service) -> float:
        return min(svc.health.timeout_s, self.limits.probe_interval_s)

    def _health(self, client: httpx.Client, svc: Service) -> Breach | None:
        from runbooks.probes import health_url

        try:
            ok = client.get(health_url(self.platform, svc), timeout=self._timeout(svc)).status_code == 200
        except httpx.HTTPError:
            ok = False
        self._failures[svc.name] = 0 if ok else self._failures[svc.name] + 1
        self.last[svc.name]["healthy"] = ok
        if self._failures[svc.name] >= self.limits.secondary_failures:
            return Breach(
                f"{svc.name} health probes failed in a row",
                self._failures[svc.name],
                f"halts at {self.limits.secondary_failures}",
            )
        return None

    def _slots(self, client: httpx.Client, svc: Service) -> Breach | None:
        try:
            resp = client.get(self.platform.url(svc, "/slots"), timeout=self._timeout(svc))
            slots = resp.json() if resp.status_code == 200 else None
        except (httpx.HTTPError, ValueError):
            slots = None
        if not isinstance(slots, list):
            return None  # not measured (--no-slots, or the health probe already judged it)
        idle = sum(not s.get("is_processing", False) for s in slots)
        self.last[svc.name]["idle_slots"] = idle
        if idle < self.limits.min_idle_slots:
            return Breach(f"{svc.name} idle slots", idle, self.limits.min_idle_slots)
        return None

    def _deferred(self, client: httpx.Client, svc: Service) -> Breach | None:
        try:
            resp = client.get(self.platform.url(svc, "/metrics"), timeout=self._timeout(svc))
        except httpx.HTTPError:
            return None
        found = _DEFERRED.search(resp.text) if resp.status_code == 200 else None
        if found is None:
            return None
        value = float(found.group(1))
        self.last[svc.name]["requests_deferred"] = value
        if value > self.limits.max_deferred:
            return Breach(f"{svc.name} llamacpp:requests_deferred", value, self.limits.max_deferred)
        return None

    def _gpu(self, client: httpx.Client) -> Breach | None:
        from infra.spec.model import Role

        p = self.platform
        proms = [s for s in p.by_role(Role.MONITORING) if s.name == "prometheus" and p.reachable(s)]
        if not proms:
            return None
        try:
            resp = client.get(
                self.platform.url(proms[0], "/api/v1/query"),
                params={"query": "min(DCGM_FI_DEV_FB_FREE)"},
                timeout=min(proms[0].health.timeout_s, self.limits.probe_interval_s),
            )
            result = resp.json()["data"]["result"]
        except (httpx.HTTPError, ValueError, KeyError):
            return None
        if not result:
            return None  # not measured: no dcgm-exporter series
        free = float(result[0]["value"][1])
        self.last["gpu_free_mib"] = free
        if free < self.limits.min_gpu_free_mib:
            return Breach("free GPU memory MiB", free, self.limits.min_gpu_free_mib)
        return None
