"""Instant queries against Prometheus, and the alert rules' own queries and thresholds.

The daily check asks Prometheus the left-hand side of each alert that points at it
(`DCGM_FI_DEV_GPU_TEMP` of `DCGM_FI_DEV_GPU_TEMP > 80`), so it shows today's value even when no
alert fires, with the same metric names and aggregation as the rule (infra/observability/rules.py).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import httpx

from infra.errors import Failed
from infra.observability.rules import GROUPS, AlertRule
from infra.spec.model import Platform

PROMETHEUS_SERVICE = "prometheus"  # the service-table row whose API the stack's checks query
TIMEOUT_S = 10.0
_COMPARISON = re.compile(r"^(?P<query>.*\S)\s*(?P<op>>|<)\s*(?P<value>-?[0-9]+(\.[0-9]+)?)$", re.S)


class PromError(Failed, RuntimeError):
    """Prometheus did not answer a usable result (the message names the URL and the query)."""


@dataclass(frozen=True)
class Condition:
    """An alert rule split into its query and its threshold: `query op threshold`."""

    alert: str
    severity: str
    query: str
    op: str
    threshold: float


def rule(alert: str, severity: str | None = None) -> AlertRule:
    """The rule named `alert` (of `severity` when the alert has several); KeyError names the known ones."""
    found = [r for g in GROUPS for r in g.rules if r.alert == alert and severity in (None, r.severity)]
    if not found:
        known = sorted({r.alert for g in GROUPS for r in g.rules})
        raise KeyError(f"no alert rule {alert!r} of severity {severity!r}; known: {', '.join(known)}")
    return found[0]


def condition(alert: str, severity: str | None = None) -> Condition:
    """`DCGM_FI_DEV_GPU_TEMP > 80` -> Condition(query='DCGM_FI_DEV_GPU_TEMP', op='>', threshold=80)."""
    r = rule(alert, severity)
    m = _COMPARISON.match(r.expr.strip())
    if m is None:
        raise ValueError(f"alert {alert}: expression {r.expr!r} does not end in `> N` or `< N`")
    return Condition(alert, r.severity, m["query"].strip(), m["op"], float(m["value"]))


def prometheus_url(platform: Platform, override: str | None = None) -> str | None:
    """`--prometheus-url`, else `inferops:dailyCheck.prometheus_url`, else the stack's published Prometheus."""
    if override:
        return override.rstrip("/")
    if platform.daily_check.prometheus_url:
        return platform.daily_check.prometheus_url.rstrip("/")
    svc = platform.services.get(PROMETHEUS_SERVICE)
    if svc is not None and svc.enabled and platform.reachable(svc):
        return platform.url(svc).rstrip("/")
    return None


@dataclass(frozen=True)
class Sample:
    labels: dict[str, str]
    value: float


@dataclass(frozen=True)
class Series:
    """One series of a range query: its labels and (unix time, value) points, NaN points dropped."""

    labels: dict[str, str]
    points: list[tuple[float, float]]


class Prometheus:
    """A small client for `GET /api/v1/query` (TLS verification on, as everywhere)."""

    def __init__(self, url: str, client: httpx.Client | None = None, timeout_s: float = TIMEOUT_S) -> None:
        self.url = url.rstrip("/")
        self._client = client or httpx.Client(timeout=timeout_s)

    def close(self) -> None:
        self._client.close()

    def raw(self, query: str, api: str = "query", **params: Any) -> dict[str, Any]:
        """The JSON answer of an instant query (what `parse_dcgm` reads), or of `api` (query_range)."""
        try:
            resp = self._client.get(f"{self.url}/api/v1/{api}", params={"query": query, **params})
        except httpx.HTTPError as err:
            raise PromError(f"Prometheus at {self.url} does not answer ({type(err).__name__}: {err})") from None
        try:
            body = resp.json()
        except ValueError:
            raise PromError(f"Prometheus at {self.url} answered HTTP {resp.status_code} without JSON") from None
        if resp.status_code != 200 or body.get("status") != "success":
            why = body.get("error") or f"HTTP {resp.status_code}"
            raise PromError(f"Prometheus at {self.url}: query {query!r} failed: {why}")
        return body

    def query(self, query: str) -> list[Sample]:
        """Samples of an instant vector (NaN values, e.g. 0/0 rates without traffic, are dropped)."""
        data = self.raw(query).get("data") or {}
        if data.get("resultType") != "vector":
            raise PromError(f"query {query!r}: expected an instant vector, got {data.get('resultType')!r}")
        out = []
        for item in data.get("result") or []:
            value = float(item["value"][1])
            if not math.isnan(value):
                out.append(Sample(dict(item.get("metric") or {}), value))
        return out

    def range(self, query: str, start: float, end: float, step_s: float) -> list[Series]:
        """`GET /api/v1/query_range`: the series behind a figure, for the reports' plots."""
        data = self.raw(query, "query_range", start=f"{start:.3f}", end=f"{end:.3f}", step=f"{step_s:g}").get("data")
        data = data or {}
        if data.get("resultType") != "matrix":
            raise PromError(f"range query {query!r}: expected a matrix, got {data.get('resultType')!r}")
        out = []
        for item in data.get("result") or []:
            points = [(float(t), float(v)) for t, v in item.get("values") or []]
            out.append(Series(dict(item.get("metric") or {}), [p for p in points if not math.isnan(p[1])]))
        return out

    def has_series(self, metric: str) -> bool:
        """Whether any series of `metric` exists now (is its exporter scraped?)."""
        return bool(self.query(f"count({metric})"))
