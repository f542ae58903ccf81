"""Alert routing settings of a stack (receivers, routes, maintenance windows, rule timings).

Receiver URLs and keys are secrets: only the names of the Pulumi config keys that hold them
live here, never the values. Production defaults are seed 003's routes and seed 000's nightly
mute window; a stack (the local one) shortens timings so an end-to-end alert test stays quick.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from infra.spec.base import Strict
from infra.spec.errors import Problem

if TYPE_CHECKING:
    from infra.spec.model import Platform

Severity = Literal["critical", "warning", "info"]
ReceiverKind = Literal["slack", "synology", "pagerduty", "webhook", "discard"]

# The Pulumi config secret that holds each kind's URL or key (`pulumi config set --secret`).
SECRET_FOR_KIND: dict[str, str] = {
    "slack": "alertSlackWebhookUrl",
    "synology": "alertSynologyWebhookUrl",
    "pagerduty": "alertPagerdutyRoutingKey",
    "webhook": "alertWebhookUrl",
}
# Pulumi config secrets read by the programs (never part of the spec).
SECRET_KEYS: tuple[str, ...] = tuple(SECRET_FOR_KIND.values())

NAME = r"^[a-z][a-z0-9-]{0,62}$"
DURATION = re.compile(r"^([0-9]+(ms|s|m|h|d|w|y))+$")
HHMM = r"^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$"
WEEKDAYS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
DEFAULT_RUNBOOK_BASE = "https://github.com/inferops/inferops/blob/main/docs/alerts"


class Receiver(Strict):
    """Where notifications go. The credential is the Pulumi secret of its kind.

    A `webhook` may instead name an in-stack `service` (and `path`): a receiver on the stack
    network that carries no credential, such as the local stack's alert sink. A `synology`
    receiver posts to `service` (the `synology-relay` row), which turns Alertmanager's JSON
    into the form field `payload` that Synology Chat expects (seed 000) and posts it to the
    secret incoming URL. A `discard`
    receiver drops notifications (a stack with nowhere to send them still evaluates alerts).
    """

    name: str = Field(pattern=NAME)
    kind: ReceiverKind
    channel: str | None = None
    service: str | None = Field(None, pattern=NAME)
    path: str = Field("/", pattern=r"^/")
    send_resolved: bool = True

    @model_validator(mode="after")
    def _fields_fit_kind(self) -> Receiver:
        if self.channel is not None and self.kind != "slack":
            raise ValueError("channel applies to slack receivers only")
        if self.service is not None and self.kind not in ("webhook", "synology"):
            raise ValueError("service applies to webhook and synology receivers only")
        if self.kind == "synology" and self.service is None:
            raise ValueError("a synology receiver needs `service`: the relay that posts the form field `payload`")
        return self

    @property
    def secret_key(self) -> str | None:
        """The secret Alertmanager itself needs; None when the receiver is an in-stack service."""
        if self.service is not None or self.kind == "discard":
            return None
        return SECRET_FOR_KIND[self.kind]


class TimeRange(Strict):
    start: str = Field(pattern=HHMM)
    end: str = Field(pattern=HHMM)

    @model_validator(mode="after")
    def _ordered(self) -> TimeRange:
        if self.start >= self.end:
            raise ValueError("start must be before end (split a window that crosses midnight in two)")
        return self


class MaintenanceWindow(Strict):
    """A recurring mute (Alertmanager time interval) for alerts matching `matchers`."""

    name: str = Field(pattern=NAME)
    matchers: tuple[str, ...] = Field(('role="inference"',), min_length=1)
    times: tuple[TimeRange, ...] = Field(min_length=1)
    weekdays: tuple[str, ...] = ()
    location: str = "Asia/Seoul"

    @field_validator("weekdays")
    @classmethod
    def _weekdays(cls, days: tuple[str, ...]) -> tuple[str, ...]:
        bad = [d for d in days if d.split(":")[0] not in WEEKDAYS or d.split(":")[-1] not in WEEKDAYS]
        if bad:
            raise ValueError(f"unknown weekday(s) {bad}; use {', '.join(WEEKDAYS)} or ranges like monday:friday")
        return days

    @field_validator("location")
    @classmethod
    def _location(cls, loc: str) -> str:
        try:
            ZoneInfo(loc)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {loc!r}; use an IANA name such as Asia/Seoul") from None
        return loc


def _nightly_batch() -> tuple[MaintenanceWindow, ...]:
    # Seed 000: the nightly batch (KST 0-6 h plus a 1 h buffer) holds the inference servers;
    # their down/degraded alerts are muted then, daytime alerts stay.
    return (MaintenanceWindow(name="nightly-batch", times=(TimeRange(start="00:00", end="07:00"),)),)


def _severity_routes() -> dict[Severity, tuple[str, ...]]:
    return {"critical": ("pager", "chat"), "warning": ("chat",), "info": ("chat",)}


class Alerting(Strict):
    """The `inferops:alerting` section: defaults are seed 003's routes and timings."""

    runbook_base_url: str = Field(DEFAULT_RUNBOOK_BASE, pattern=r"^(https?://|/|\.)")
    receivers: tuple[Receiver, ...] = (
        Receiver(name="pager", kind="pagerduty"),
        Receiver(name="chat", kind="slack", channel="#genai-alerts"),
    )
    default_receiver: str = "chat"
    # severity -> receivers, in order; each gets the alert (Alertmanager `continue`).
    routes: dict[Severity, tuple[str, ...]] = Field(default_factory=_severity_routes)
    group_wait: str = "30s"
    group_interval: str = "5m"
    repeat_interval: str = "4h"
    resolve_timeout: str = "5m"
    scrape_interval: str = "15s"
    evaluation_interval: str = "15s"
    # alert name -> `for:` duration replacing the rule's own (short timings for a test stack)
    rule_for: dict[str, str] = Field(default_factory=dict)
    maintenance_windows: tuple[MaintenanceWindow, ...] = Field(default_factory=_nightly_batch)

    @field_validator(
        "group_wait", "group_interval", "repeat_interval", "resolve_timeout", "scrape_interval", "evaluation_interval"
    )
    @classmethod
    def _duration(cls, value: str) -> str:
        if not DURATION.match(value):
            raise ValueError(f"{value!r} is not a Prometheus duration such as 30s, 5m, 4h")
        return value

    @field_validator("rule_for")
    @classmethod
    def _rule_for(cls, value: dict[str, str]) -> dict[str, str]:
        """Durations here; the alert names against the rules in infra/observability/rules.py
        (`check_rule_for`), which the spec must not import: it is rendered from the spec."""
        for name, duration in value.items():
            if not DURATION.match(duration):
                raise ValueError(f"{name}: {duration!r} is not a Prometheus duration such as 30s, 5m")
        return value

    @model_validator(mode="after")
    def _receivers_exist(self) -> Alerting:
        names = [r.name for r in self.receivers]
        if len(set(names)) != len(names):
            raise ValueError(f"receiver names must be unique: {names}")
        wanted = {self.default_receiver} | {n for targets in self.routes.values() for n in targets}
        missing = sorted(wanted - set(names))
        if missing:
            raise ValueError(f"routes name unknown receiver(s) {missing}; defined: {', '.join(names)}")
        windows = [w.name for w in self.maintenance_windows]
        if len(set(windows)) != len(windows):
            raise ValueError(f"maintenance window names must be unique: {windows}")
        return self

    def receiver(self, name: str) -> Receiver:
        return next(r for r in self.receivers if r.name == name)

    @property
    def secret_keys(self) -> tuple[str, ...]:
        """The secrets this stack's alertmanager.yml needs, in a stable order."""
        keys = {r.secret_key for r in self.receivers if r.secret_key}
        return tuple(k for k in SECRET_KEYS if k in keys)


def alerting_problems(platform: Platform, prefix: str = "inferops:alerting") -> list[Problem]:
    """Receivers against the service table: an in-stack receiver must be an enabled service, a
    synology receiver must post to a relay (a row whose `secret_env` holds the Synology URL), and
    an enabled relay must have a synology receiver (else it runs for nothing, needing a secret)."""
    problems: list[Problem] = []
    relay_secret = SECRET_FOR_KIND["synology"]
    relays = {s.name for s in platform.services.values() if relay_secret in s.secret_env.values()}
    served: set[str] = set()
    for i, rcv in enumerate(platform.alerting.receivers):
        if rcv.service is None:
            continue
        key = f"{prefix}.receivers.{i}.service"
        svc = platform.services.get(rcv.service)
        if svc is None:
            problems.append(Problem(key, rcv.service, f"unknown service; known: {', '.join(platform.services)}"))
            continue
        if rcv.kind == "synology":
            served.add(svc.name)
            if svc.name not in relays:
                problems.append(
                    Problem(
                        key, rcv.service, f"a synology receiver posts to a relay: use {' or '.join(sorted(relays))}"
                    )
                )
                continue
            if platform.target == "eks":
                problems.append(
                    Problem(key, rcv.service, "the EKS target does not deploy the relay; use a slack/webhook receiver")
                )
        if not svc.enabled:
            problems.append(
                Problem(
                    f"inferops:services.{svc.name}.enabled",
                    False,
                    f"receiver {rcv.name} ({rcv.kind}) posts to {svc.name}: set services.{svc.name}.enabled: true",
                )
            )
    for name in sorted(relays - served):
        if platform.services[name].enabled:
            problems.append(
                Problem(
                    f"inferops:services.{name}.enabled",
                    True,
                    f"no synology receiver posts to {name}: add one to {prefix}.receivers or disable {name}",
                )
            )
    return problems
