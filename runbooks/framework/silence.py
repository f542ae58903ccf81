"""Alertmanager silences scoped to a drill: exactly the alerts a faulted service fires, that service only.

The alerts come from the rules themselves (infra/observability/rules.py): every rule on the
`up` series whose label selectors match the service's `role` (ServiceDown, InferenceBackendDown
for an inference backend, QdrantDown for the vector DB). The silence names the run id in its
comment and ends at the drill's deadline; it is expired on every exit (runner, guard, recover)
through the durable undo kind `expire-silence`. An alert about anything else still notifies.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from infra.spec.model import Platform

__all__ = [
    "active_alerts",
    "alertmanager_url",
    "create",
    "drill_alerts",
    "expire",
    "expire_when_clear",
    "matchers_for",
    "silences_of",
]

_UP = re.compile(r"\bup\{([^}]*)\}")
_LABEL = re.compile(r'(\w+)\s*(=~|!=|!~|=)\s*"([^"]*)"')
TIMEOUT_S = 5.0


def _selects(selector: str, labels: dict[str, str]) -> bool:
    for name, op, value in _LABEL.findall(selector):
        have = labels.get(name, "")
        ok = {
            "=": have == value,
            "!=": have != value,
            "=~": re.fullmatch(value, have) is not None,
            "!~": re.fullmatch(value, have) is None,
        }[op]
        if not ok:
            return False
    return True


def drill_alerts(platform: Platform, service: str) -> list[str]:
    """Names of the alerts that fire when `service` stops answering its scrape."""
    from infra.observability.rules import GROUPS

    svc = platform.service(service)
    role = svc.role.value if hasattr(svc.role, "value") else str(svc.role)
    labels = {"service": service, "role": role}
    names: list[str] = []
    for group in GROUPS:
        for rule in group.rules:
            found = _UP.search(rule.expr)
            if found and _selects(found.group(1), labels) and rule.alert not in names:
                names.append(rule.alert)
    return names


def matchers_for(alerts: list[str], service: str) -> list[dict[str, Any]]:
    return [
        {"name": "alertname", "value": "|".join(alerts), "isRegex": True, "isEqual": True},
        {"name": "service", "value": service, "isRegex": False, "isEqual": True},
    ]


def alertmanager_url(platform: Platform) -> str | None:
    """Base URL of the stack's Alertmanager (as an operator reaches it); None when it has none."""
    from infra.observability.scrape import ALERTMANAGER

    found = [s for s in platform.enabled() if s.name == ALERTMANAGER]
    if not found or not platform.reachable(found[0]):
        return None
    return platform.url(found[0], "").rstrip("/")


def create(url: str, matchers: list[dict[str, Any]], until_s: float, run_id: str, what: str) -> str:
    """POST /api/v2/silences; returns the silence id."""
    now = datetime.now(UTC)
    body = {
        "matchers": matchers,
        "startsAt": now.isoformat(),
        "endsAt": (now + timedelta(seconds=until_s)).isoformat(),
        "createdBy": "inferops runbook",
        "comment": f"drill {run_id}: {what}",
    }
    resp = httpx.post(f"{url}/api/v2/silences", json=body, timeout=TIMEOUT_S)
    resp.raise_for_status()
    return str(resp.json()["silenceID"])


def expire(url: str, silence_id: str) -> None:
    """DELETE /api/v2/silence/{id}; an already expired or unknown silence is fine (idempotent)."""
    resp = httpx.delete(f"{url}/api/v2/silence/{silence_id}", timeout=TIMEOUT_S)
    if resp.status_code not in (200, 404) and not (resp.status_code == 500 and "expired" in resp.text):
        resp.raise_for_status()


def silences_of(url: str, run_id: str, state: str = "active") -> list[dict[str, Any]]:
    resp = httpx.get(f"{url}/api/v2/silences", timeout=TIMEOUT_S)
    resp.raise_for_status()
    return [s for s in resp.json() if run_id in s.get("comment", "") and s["status"]["state"] == state]


def active_alerts(url: str, matchers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Alerts (firing, silenced or not) that the matchers select."""
    filters = [f'{m["name"]}{"=~" if m["isRegex"] else "="}"{m["value"]}"' for m in matchers]
    resp = httpx.get(f"{url}/api/v2/alerts", params=[("filter", f) for f in filters], timeout=TIMEOUT_S)
    resp.raise_for_status()
    return list(resp.json())


def expire_when_clear(data: dict[str, Any]) -> None:
    """Expire a drill's silence, first waiting (bounded by `clear_within_s`) until the alerts it
    covers are no longer active: expiring it while they still fire would page for the drill
    right after it."""
    deadline = time.monotonic() + float(data.get("clear_within_s", 0))
    while time.monotonic() < deadline:
        try:
            if not active_alerts(data["url"], data["matchers"]):
                break
        except httpx.HTTPError:
            break
        time.sleep(1.0)
    expire(data["url"], data["id"])
