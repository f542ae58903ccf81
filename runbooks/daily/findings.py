"""One line of the daily checklist: which check, about what, its verdict and why."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Verdict = Literal["ok", "warn", "fail", "n/a"]
# Severity order for the overall verdict; n/a ranks with ok (a check that does not apply is no problem).
RANK: dict[str, int] = {"n/a": 0, "ok": 0, "warn": 1, "fail": 2}


@dataclass(frozen=True)
class Finding:
    check: str  # containers | health | gpu | error-logs | disk | gpu-nodes | pods | cost | slo
    subject: str  # a service, a path, a GPU, a node, or "-" for the check as a whole
    verdict: Verdict
    detail: str
    data: dict[str, Any] = field(default_factory=dict)  # figures for the JSON record
    how: str = ""  # how it was measured (a command, a query): the weekly check and the reports show it
    normal: str = ""  # the normal range it was judged against ("p95 < 2.5 s", "rotated, < 500 MiB")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def worst(findings: Iterable[Finding]) -> Verdict:
    """The most severe verdict; ok when there is nothing (or only n/a)."""
    out: Verdict = "ok"
    for f in findings:
        if RANK[f.verdict] > RANK[out]:
            out = f.verdict
    return out


def by_level(value: float, warn_at: float | None, fail_at: float | None) -> Verdict:
    """`fail` above `fail_at`, `warn` above `warn_at`, else `ok` (the alerts' strict `>`)."""
    if fail_at is not None and value > fail_at:
        return "fail"
    if warn_at is not None and value > warn_at:
        return "warn"
    return "ok"


def na(check: str, detail: str, subject: str = "-") -> Finding:
    return Finding(check, subject, "n/a", detail)
