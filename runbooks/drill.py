"""What makes a drill safe to run at 3 a.m., shared by the runbooks that fault something on purpose.

- `scoped_silence`: an Alertmanager silence (API v2) per faulted service, naming exactly the
  alerts its fault fires (from the rules), with the run id in the comment and an end at the
  drill's deadline; expired by a durable cleanup (runner, guard or recover). No Alertmanager in
  the stack, or one that does not answer: said once, the drill goes on.
- `HaltMonitor`: the halt conditions (infra/spec/drills.py) probed every interval while the fault
  is in place; a breach halts the run (it rolls back) and the record names condition and value.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

import httpx

from runbooks.framework.silence import alertmanager_url, create, drill_alerts, expire_when_clear, matchers_for
from runbooks.load import percentile

if TYPE_CHECKING:
    from infra.spec.model import Platform
    from runbooks.framework.runner import Run
    from runbooks.load import LoadGenerator

__all__ = ["Breach", "HaltMonitor", "scoped_silence", "silence_plan"]


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


class HaltMonitor:
    """Probes the halt conditions every `probe_interval_s` in a thread; halts the run on a breach."""

    def __init__(self, run: Run, load: LoadGenerator, secondary: str) -> None:
        self.run = run
        self.load = load
        self.platform = run.stack_platform
        self.secondary = self.platform.service(secondary)
        self.limits = self.platform.drills
        self.probes = 0
        self.last: dict[str, Any] = {}
        self._failures = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="halt-monitor", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
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
        for probe in (self._traffic, self._secondary_health, self._slots, self._deferred, self._gpu):
            breach = probe(client)
            if breach is not None:
                return breach
        return None

    def _traffic(self, _client: httpx.Client) -> Breach | None:
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

    def _timeout(self) -> float:
        return min(self.secondary.health.timeout_s, self.limits.probe_interval_s)

    def _secondary_health(self, client: httpx.Client) -> Breach | None:
        from runbooks.probes import health_url

        try:
            ok = client.get(health_url(self.platform, self.secondary), timeout=self._timeout()).status_code == 200
        except httpx.HTTPError:
            ok = False
        self._failures = 0 if ok else self._failures + 1
        self.last["secondary_healthy"] = ok
        if self._failures >= self.limits.secondary_failures:
            return Breach(
                f"{self.secondary.name} health probes failed in a row",
                self._failures,
                f"halts at {self.limits.secondary_failures}",
            )
        return None

    def _slots(self, client: httpx.Client) -> Breach | None:
        try:
            resp = client.get(self.platform.url(self.secondary, "/slots"), timeout=self._timeout())
            slots = resp.json() if resp.status_code == 200 else None
        except (httpx.HTTPError, ValueError):
            slots = None
        if not isinstance(slots, list):
            return None  # not measured (--no-slots, or the health probe already judged it)
        idle = sum(not s.get("is_processing", False) for s in slots)
        self.last["secondary_idle_slots"] = idle
        if idle < self.limits.min_idle_slots:
            return Breach(f"{self.secondary.name} idle slots", idle, self.limits.min_idle_slots)
        return None

    def _deferred(self, client: httpx.Client) -> Breach | None:
        try:
            resp = client.get(self.platform.url(self.secondary, "/metrics"), timeout=self._timeout())
        except httpx.HTTPError:
            return None
        found = _DEFERRED.search(resp.text) if resp.status_code == 200 else None
        if found is None:
            return None
        value = float(found.group(1))
        self.last["secondary_requests_deferred"] = value
        if value > self.limits.max_deferred:
            return Breach(f"{self.secondary.name} llamacpp:requests_deferred", value, self.limits.max_deferred)
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
                timeout=self._timeout(),
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
