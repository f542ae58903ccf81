"""The report step shared by runbook.daily-check and runbook.weekly-check: plots, files, record.

The plots need a Prometheus; without one the report still has the table and the evidence, and a
note says why there are no plots. The paths written go into the run record (`report`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from runbooks.daily.checklist import Checklist
from runbooks.daily.findings import Finding, worst
from runbooks.framework import Run
from runbooks.reports.model import Plot, Report
from runbooks.weekly.window import Window

__all__ = ["write_report"]


def write_report(
    run: Run, kind: str, title: str, findings: list[Finding], window: Window, counts: dict[str, int]
) -> dict[str, str]:
    from runbooks.reports.series import series
    from runbooks.reports.write import write

    checklist = run.state_as(Checklist)
    prom = checklist.prom
    plots: list[Plot] = []
    notes = list(checklist.notes)
    if prom is not None:
        plots, failed = series(run.stack_platform, prom, window)
        notes += failed
    else:
        notes.append("no Prometheus for this stack: no plots")
    meta: dict[str, Any] = {"prometheus": prom.url if prom is not None else "none"}
    if run.record.path is not None:
        meta["run record"] = str(run.record.path)
    report = Report(
        kind=kind,
        stack=run.options.stack,
        title=title,
        generated=datetime.now(UTC).isoformat(timespec="seconds"),
        window=window.text,
        findings=findings,
        counts=counts,
        verdict=worst(findings),
        plots=plots,
        notes=notes,
        meta=meta,
    )
    paths = write(run.stack_platform, report)
    run.measure("report", paths)
    run.display.info(f"report: {paths['html']} (and .md)")
    return paths
