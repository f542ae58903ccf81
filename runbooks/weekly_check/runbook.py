"""runbook.weekly-check: seed 004's 주간 유지보수 체크리스트 and seed 003's 주간 점검 항목, one table.

Seed 004: Qdrant 백업 수행, 로그 로테이션 (`docker logs --since 7d`), 성능 메트릭 리뷰, 의존성 버전
확인. Seed 003: 비용 분석 (Kubecost), 용량 계획 (리소스 트렌드), 보안 패치 (이미지), 백업 검증 (복구
테스트). Each item says how it was measured, its value, the normal range (`inferops:weeklyCheck`,
defaults from the seeds) and a verdict; n/a with the reason where this target cannot measure it.
Every item runs even when an earlier one fails; the run exits 1 when any line fails (`--strict`:
or warns) and writes `reports/<stack>/<date>-weekly-check.html` and `.md` either way.

The read-only items lead (a `--dry-run` runs them); the backup-and-restore test writes a backup
and a scratch collection (removed after), so it only runs in a real run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from infra.spec.model import Platform
from runbooks.daily.checklist import Checklist, fail_if_bad, in_scope, prometheus, record
from runbooks.daily.findings import Finding, worst
from runbooks.daily.prom import prometheus_url
from runbooks.daily_check import runbook as daily_check
from runbooks.framework import BadInput, Options, Run, Runbook, Step
from runbooks.weekly.window import Window

__all__ = ["build", "scrape_seconds", "window"]

_PROM_DURATION = re.compile(r"^(?P<n>\d+(?:\.\d+)?)(?P<unit>ms|s|m|h)$")
COLOURS = daily_check.COLOURS


def scrape_seconds(text: str) -> float:
    """`5s` -> 5.0 (the stack's scrape interval, `inferops:alerting.scrape_interval`); 15 if unreadable."""
    m = _PROM_DURATION.match(text.strip())
    if m is None:
        return 15.0
    return float(m["n"]) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[m["unit"]]


@dataclass
class Weekly(Checklist):
    """The checklist's state and the window looked at (`--window`, parsed on first use)."""

    window: Window | None = None


def window(run: Run) -> Window:
    checklist = run.state_as(Weekly)
    if checklist.window is None:
        text = run.options.extra.get("window") or run.stack_platform.weekly_check.window
        checklist.window = Window.parse(text, scrape_seconds(run.stack_platform.alerting.scrape_interval))
    return checklist.window


def _logs(run: Run) -> dict[str, Any]:
    from runbooks.weekly.logs import logs

    return record(run, "logs", lambda: logs(run.stack_platform, run.target, in_scope(run)))


def _images(run: Run) -> dict[str, Any]:
    from runbooks.weekly.images import pins, releases

    services = in_scope(run)
    return record(
        run,
        "images",
        lambda: pins(run.stack_platform, run.target, services) + releases(run.stack_platform, services),
    )


def _slo(run: Run) -> dict[str, Any]:
    from runbooks.weekly.slo import slo

    return record(run, "slo", lambda: slo(run.stack_platform, prometheus(run), window(run)))


def _capacity(run: Run) -> dict[str, Any]:
    from runbooks.weekly.capacity import capacity

    return record(run, "capacity", lambda: capacity(run.stack_platform, prometheus(run), window(run)))


def _cost(run: Run) -> dict[str, Any]:
    from runbooks.weekly.cost import cost

    return record(run, "cost", lambda: cost(run.stack_platform, prometheus(run), window(run)))


def _backup(run: Run) -> dict[str, Any]:
    from runbooks.weekly.qdrant_verify import verify_backups

    return record(run, "backup-restore", lambda: verify_backups(run.stack_platform))


def render(run: Run, findings: list[Finding]) -> None:
    from rich.markup import escape

    from infra.fitted_table import fitted

    tally = ", ".join(f"{n} {v}" for v, n in daily_check.counts(findings).items())
    title = f"weekly check of stack {run.options.stack!r} over {window(run).text}: {tally}"
    rows = [
        [f.check, escape(f.subject), f"[{COLOURS[f.verdict]}]{f.verdict}[/]", escape(f.normal or "-"), escape(f.detail)]
        for f in findings
    ]
    fitted(run.display.console, title, ("check", "subject", "verdict", "normal", "value"), rows, notes="value", key=2)


def _verdict(run: Run) -> dict[str, Any]:
    from runbooks.reports.step import write_report

    findings = run.state_as(Checklist).findings
    counts = daily_check.counts(findings)
    w = window(run)
    run.measure(
        "weekly_check",
        {
            "verdict": worst(findings),
            "counts": counts,
            "window": w.text,
            "window_s": w.seconds,
            "findings": [f.to_dict() for f in findings],
        },
    )
    title = f"Weekly check: {run.options.stack}"
    try:
        write_report(run, "weekly-check", title, findings, w, counts)
    finally:
        prom = run.state_as(Checklist).prom
        if prom is not None:
            prom.close()
    render(run, findings)
    fail_if_bad(findings, bool(run.options.extra.get("strict")))
    return {"verdict": worst(findings), **counts}


def _validate(platform: Platform, options: Options) -> None:
    text = options.extra.get("window")
    if text is not None:
        try:
            Window.parse(str(text))
        except ValueError as err:
            raise BadInput(f"--window {err}") from None
    url = options.extra.get("prometheus_url")
    if url and not str(url).startswith(("http://", "https://")):
        raise BadInput(f"--prometheus-url {url!r}: give an http:// or https:// URL (e.g. http://127.0.0.1:9090)")


def build(platform: Platform, options: Options) -> Runbook:
    _validate(platform, options)
    prom = prometheus_url(platform, options.extra.get("prometheus_url")) or "none"
    text = options.extra.get("window") or platform.weekly_check.window
    return Runbook(
        name="weekly-check",
        title=f"the weekly operations check over {text}: logs, images, SLOs, capacity, cost, backup restore test",
        seed="seed 004 주간 유지보수 체크리스트 (Qdrant 백업, 로그 로테이션, 성능 메트릭 리뷰, 의존성 버전) and "
        "seed 003 주간 점검 항목 (비용 분석, 용량 계획, 보안 패치, 백업 검증)",
        exclusive=False,
        state=Weekly,
        steps=(
            Step("logs", _logs, "log size and rotation settings per container (log driver options)", probe=True),
            Step("images", _images, "running images vs the stack's pins; newer releases in the registry", probe=True),
            Step(
                "slo", _slo, f"p50/p95/p99, error rate, availability over {text} against seed 002 ({prom})", probe=True
            ),
            Step("capacity", _capacity, f"GPU use trend and memory headroom over {text} (DCGM)", probe=True),
            Step("cost", _cost, f"node cost over {text} (OpenCost/Kubecost)", probe=True),
            Step("backup-restore", _backup, "Qdrant backup now, restored into a scratch collection and compared"),
            Step("verdict", _verdict, "one table and the report; exit 1 if any line fails (--strict: or warns)"),
        ),
    )
