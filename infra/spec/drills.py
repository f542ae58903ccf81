"""Safeguards of drills (`inferops:drills`): halt conditions, their probe interval, silences.

While a drill (failover-test) has a fault in place, probes every `probe_interval_s` check the
drill's own traffic through the gateway (failed ratio and p95 latency over the last `window_s`),
the secondary's health, `/slots` and `llamacpp:requests_deferred`, and free GPU memory where
Prometheus has dcgm-exporter's series. A breach halts the drill and rolls it back (Chaos
Toolkit safeguards, SSM Automation alarms, Litmus stopOnFailure). Nothing here is secret.
"""

from __future__ import annotations

from pydantic import Field

from infra.spec.base import Strict

__all__ = ["SECRET_KEYS", "Drills"]

SECRET_KEYS: tuple[str, ...] = ()


class Drills(Strict):
    """Limits with defaults that a healthy failover never reaches (a tiny CPU model or a GPU one)."""

    probe_interval_s: float = Field(2.0, gt=0, le=60)
    window_s: float = Field(10.0, gt=0, le=600)  # traffic figures cover the last window_s
    min_window_requests: int = Field(4, ge=1)  # fewer answered requests: ratio and p95 not judged
    max_failed_ratio: float = Field(0.5, ge=0, le=1)
    max_p95_latency_s: float = Field(30.0, gt=0)
    secondary_failures: int = Field(1, ge=1, le=10)  # consecutive failed health probes of the secondary
    min_idle_slots: int = Field(0, ge=0)  # idle slots of the secondary (0: never halts)
    max_deferred: float = Field(8, ge=0)  # llamacpp:requests_deferred on the secondary
    min_gpu_free_mib: float = Field(256, ge=0)  # DCGM_FI_DEV_FB_FREE, where measured
    silence: bool = True  # silence the alerts the drill fires on purpose (Alertmanager API v2)
    silence_clear_s: float = Field(60, ge=0, le=900)  # at the end, wait this long for them to clear
