"""Settings of `runbook.watch` (`inferops:watch`): the 5-minute agent of seed 000, made safe.

Receivers and mute windows reuse the alerting models (infra/spec/alerting.py): a watch receiver
is a `Receiver` (its credential, when it has one, is the Pulumi secret of its kind) and a watch
mute window is a `MaintenanceWindow` whose `matchers` select issues by their labels
(`category`, `host`, `target`, `condition`, `service`, `role`), narrowed by optional `keys`
patterns over the issue key. Unset (`null`), both fall back to the `inferops:alerting` ones, so a
stack names its receivers and its nightly batch window once. Nothing here is secret.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from infra.spec.alerting import MaintenanceWindow, Receiver
from infra.spec.base import Strict

__all__ = ["SECRET_KEYS", "Watch", "WatchMute"]

SECRET_KEYS: tuple[str, ...] = ()


class WatchMute(MaintenanceWindow):
    """A recurring mute for the watch: matchers on issue labels, optionally narrowed by key patterns
    (`fnmatch` globs such as `health:*:inference-chat:down`)."""

    keys: tuple[str, ...] = ()


class Watch(Strict):
    """Thresholds, checks and delivery of the watch; defaults are seed 000's (5 min, 2 and 2)."""

    interval_s: float = Field(300, ge=1, le=86_400)  # seed 000: every 5 minutes
    alert_after: int = Field(2, ge=1, le=100)  # consecutive failures before an alert
    recover_after: int = Field(2, ge=1, le=100)  # consecutive successes before a recovery
    flap_window: int = Field(10, ge=4, le=100)  # observations kept per issue for flapping
    flap_flips: int = Field(4, ge=2, le=99)  # state changes within the window that mean flapping
    check_timeout_s: float = Field(20, gt=0, le=600)  # each check's own deadline
    disk_warn_pct: float | None = Field(None, gt=0, le=100)  # default: dailyCheck.disk_warn_pct (85)
    disk_mounts: tuple[str, ...] = ("/",)  # host mounts checked besides the engine's data paths
    gpu_memory_warn_pct: float = Field(95, gt=0, le=100)
    gpu_temp_warn_c: float | None = Field(None, gt=0, le=150)  # default: dailyCheck.gpu_temp_warn_c
    generate_probe: bool = True  # a short completion on each inference backend (llama.cpp #27388)
    generate_max_tokens: int = Field(4, ge=1, le=256)
    generate_budget_s: float = Field(10, gt=0, le=600)
    peers: tuple[str, ...] = ()  # tailscale host names, or host:port checked by TCP
    prometheus_alerts: bool = False  # also report Prometheus' firing alerts
    prometheus_url: str | None = Field(None, pattern=r"^https?://[^\s/]+(/\S*)?$")
    ignore_services: tuple[str, ...] = ()  # seed 000's IGNORED_CONTAINERS, by service name
    receivers: tuple[Receiver, ...] | None = None  # default: inferops:alerting's default receiver
    mute_windows: tuple[WatchMute, ...] | None = None  # default: inferops:alerting.maintenance_windows
    notify_timeout_s: float = Field(10, gt=0, le=120)
    outbox_max: int = Field(1000, ge=10, le=100_000)  # oldest undelivered dropped beyond this (warned)
    explain: bool = False  # ask the stack's gateway for 1-3 sentences on new alerts
    explain_model: str = Field("chat", min_length=1)  # a gateway model group
    explain_timeout_s: float = Field(10, gt=0, le=120)
    heartbeat_textfile: str | None = None  # node-exporter textfile collector path (.prom)
    metrics_port: int | None = Field(None, ge=1, le=65535)  # --interval mode serves /metrics here
    keep_records: int = Field(288, ge=1, le=100_000)  # cycle records kept in runs/ (288: a day at 5 min)

    @model_validator(mode="after")
    def _consistent(self) -> Watch:
        if self.flap_flips >= self.flap_window:
            raise ValueError("flap_flips must be below flap_window")
        if self.receivers is not None:
            names = [r.name for r in self.receivers]
            if len(set(names)) != len(names):
                raise ValueError(f"receiver names must be unique: {names}")
        return self
