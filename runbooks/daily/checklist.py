"""What the checks of daily-check and weekly-check share: their state, scope, Prometheus and recording."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from infra.spec.model import Service
from runbooks.daily.findings import RANK, Finding, worst
from runbooks.daily.prom import Prometheus, prometheus_url
from runbooks.framework import Run, RunbookError

__all__ = ["Checklist", "fail_if_bad", "in_scope", "prometheus", "record"]


@dataclass
class Checklist:
    """Filled as the checks run; the verdict step reads it whole.

    `prom` is looked up once (`prom_looked_up`): None after that means the stack has none."""

    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    prom: Prometheus | None = None
    prom_looked_up: bool = False


def in_scope(run: Run) -> list[Service]:
    """The services checked: `--service`, else every enabled one."""
    platform = run.stack_platform
    if run.options.service:
        return [platform.service(run.options.service)]
    return platform.enabled()


def prometheus(run: Run) -> Prometheus | None:
    """A client for the stack's Prometheus (closed by the verdict step); None when there is none."""
    checklist = run.state_as(Checklist)
    if not checklist.prom_looked_up:
        url = prometheus_url(run.stack_platform, run.options.extra.get("prometheus_url"))
        checklist.prom, checklist.prom_looked_up = (Prometheus(url) if url else None), True
    return checklist.prom


def record(run: Run, check: str, fn: Callable[[], list[Finding]]) -> dict[str, Any]:
    """Run one check; a check that crashes is a failed line, and the other checks still run."""
    try:
        found = fn()
    except Exception as err:  # one broken check must not hide the rest of the checklist
        found = [Finding(check, "-", "fail", f"check could not run: {type(err).__name__}: {err}")]
    run.state_as(Checklist).findings.extend(found)
    for f in found:
        run.detail(f"{f.subject} {f.check}" if f.subject != "-" else f.check, f"{f.verdict}: {f.detail}")
    return {"verdict": worst(found), "lines": len(found)}


def fail_if_bad(findings: list[Finding], strict: bool) -> None:
    """RunbookError naming the lines that fail (`--strict`: or warn), the first eight of them."""
    floor = RANK["warn"] if strict else RANK["fail"]
    bad = [f for f in findings if RANK[f.verdict] >= floor]
    if bad:
        names = ", ".join(f"{f.check} {f.subject}".replace(" -", "") for f in bad[:8])
        more = f" and {len(bad) - 8} more" if len(bad) > 8 else ""
        raise RunbookError(f"{'warn or fail' if strict else 'fail'}: {names}{more}")
