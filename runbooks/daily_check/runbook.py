"""runbook.daily-check: seed 004's 일일 운영 체크리스트 and seed 003's daily checks, read-only, in one table.

Seed 004: `docker ps`, `./health_check.sh`, `nvidia-smi`, `docker logs | grep -i error`,
`df -h /mnt/e/ai-data`. Seed 003 (EKS): GPU nodes Ready, model pods Running, error rate < 1 %,
p99 < 5 s, GPU use and memory from DCGM, cost. Every check runs even when an earlier one fails;
each line gets a verdict (ok / warn / fail / n/a) and the run exits 1 when any line fails
(`--strict`: or warns). It changes nothing, so `--dry-run` runs the same checks.
"""

from __future__ import annotations

from typing import Any

from infra.spec.model import Platform
from runbooks.daily import disk, gpu, kube, metrics, services
from runbooks.daily.checklist import Checklist, fail_if_bad, in_scope, prometheus, record
from runbooks.daily.findings import Finding, worst
from runbooks.daily.prom import PromError, prometheus_url
from runbooks.framework import BadInput, Options, Run, Runbook, Step

NODE_EXPORTER = "node-exporter"
COLOURS = {"ok": "green", "warn": "yellow", "fail": "red", "n/a": "dim"}


def _containers(run: Run) -> dict[str, Any]:
    return record(run, "containers", lambda: services.containers(run.target, in_scope(run)))


def _health(run: Run) -> dict[str, Any]:
    def check() -> list[Finding]:
        found, notes = services.health(run.stack_platform, in_scope(run))
        run.state_as(Checklist).notes.extend(notes)
        return found

    return record(run, "health", check)


def _gpu(run: Run) -> dict[str, Any]:
    return record(run, "gpu-memory", lambda: gpu.gpu(run.stack_platform, prometheus(run)))


def _logs(run: Run) -> dict[str, Any]:
    cfg = run.stack_platform.daily_check
    window = float(run.options.extra.get("since_h") or cfg.log_window_h)
    return record(
        run,
        "error-logs",
        lambda: services.error_logs(run.target, in_scope(run), cfg.log_pattern, window, cfg.log_top, cfg.log_max_lines),
    )


def _disk(run: Run) -> dict[str, Any]:
    def check() -> list[Finding]:
        platform = run.stack_platform
        found = disk.host_disks(platform, run.target, in_scope(run), platform.daily_check)
        ne = platform.services.get(NODE_EXPORTER)
        prom = prometheus(run)
        if prom is not None and (platform.target == "eks" or (ne is not None and ne.enabled)):
            try:
                found.extend(disk.node_exporter_disks(prom, platform.daily_check))
            except PromError as err:
                found.append(Finding("disk", "node-exporter", "warn", str(err)))
        return found

    return record(run, "disk", check)


def _kubernetes(run: Run) -> dict[str, Any]:
    def check() -> list[Finding]:
        if run.stack_platform.target != "eks":
            return kube.not_applicable(run.stack_platform)
        target = run.target
        return kube.gpu_nodes(target) + kube.pods(target)

    return record(run, "kubernetes", check)


def _metrics(run: Run) -> dict[str, Any]:
    platform = run.stack_platform
    return record(run, "slo", lambda: metrics.slo(platform, prometheus(run)) + metrics.cost(platform, prometheus(run)))


def counts(findings: list[Finding]) -> dict[str, int]:
    return {v: sum(1 for f in findings if f.verdict == v) for v in ("ok", "warn", "fail", "n/a")}


def render(run: Run, findings: list[Finding]) -> None:
    from rich.markup import escape

    from infra.fitted_table import fitted

    c = counts(findings)
    tally = ", ".join(f"{n} {v}" for v, n in c.items())
    title = f"daily check of stack {run.options.stack!r}: {tally}"
    rows = [[f.check, escape(f.subject), f"[{COLOURS[f.verdict]}]{f.verdict}[/]", escape(f.detail)] for f in findings]
    fitted(run.display.console, title, ("check", "subject", "verdict", "detail"), rows, notes="detail", key=2)
    for f in findings:
        if f.check == "error-logs" and f.data.get("top"):
            run.display.info(f"[bold]{escape(f.subject)}[/]: {f.data['matches']} matching lines, most frequent:")
            for item in f.data["top"]:
                run.display.info(f"  {item['count']:>5} x  {escape(item['line'][:200])}")
    for note in run.state_as(Checklist).notes:
        run.display.info(f"[dim]{escape(note)}[/]")


def _report(run: Run, findings: list[Finding]) -> None:
    """`reports/<stack>/<date>-daily-check.html` and `.md`: the table, the evidence, plots of the log window."""
    import time

    from runbooks.reports.step import write_report
    from runbooks.weekly.window import Window

    hours = float(run.options.extra.get("since_h") or run.stack_platform.daily_check.log_window_h)
    window = Window(f"{hours:g} h", int(hours * 3600), time.time())
    write_report(run, "daily-check", f"Daily check: {run.options.stack}", findings, window, counts(findings))


def _verdict(run: Run) -> dict[str, Any]:
    checklist = run.state_as(Checklist)
    findings, prom = checklist.findings, checklist.prom
    strict = bool(run.options.extra.get("strict"))
    try:
        _report(run, findings)
    finally:
        if prom is not None:
            prom.close()
    run.measure(
        "daily_check",
        {
            "verdict": worst(findings),
            "counts": counts(findings),
            "findings": [f.to_dict() for f in findings],
            "prometheus": prom.url if prom is not None else None,
            "notes": checklist.notes,
        },
    )
    render(run, findings)
    fail_if_bad(findings, strict)
    return {"verdict": worst(findings), **counts(findings)}


def _validate(options: Options) -> None:
    since = options.extra.get("since_h")
    if since is not None:
        try:
            ok = float(since) > 0
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise BadInput(f"--since-h {since!r}: give the log window in hours, a number above 0 (default 24)")
    url = options.extra.get("prometheus_url")
    if url and not str(url).startswith(("http://", "https://")):
        raise BadInput(f"--prometheus-url {url!r}: give an http:// or https:// URL (e.g. http://127.0.0.1:9090)")


def build(platform: Platform, options: Options) -> Runbook:
    _validate(options)
    prom = prometheus_url(platform, options.extra.get("prometheus_url")) or "none"
    window = float(options.extra.get("since_h") or platform.daily_check.log_window_h)
    return Runbook(
        name="daily-check",
        title="the daily operations checklist: containers, health, GPU, error logs, disk, EKS, SLO, cost",
        seed="seed 004 일일 운영 체크리스트 (docker ps, health_check.sh, nvidia-smi, docker logs | grep -i error, "
        "df -h) and seed 003 일일 점검 항목",
        exclusive=False,
        state=Checklist,
        steps=(
            Step("containers", _containers, "container/workload state of each service (docker ps)", probe=True),
            Step("health", _health, "runbook.health's parallel sweep of every health endpoint", probe=True),
            Step("gpu", _gpu, "GPU memory, temperature, use: nvidia-smi on the host, else DCGM", probe=True),
            Step("error-logs", _logs, f"log lines matching the error pattern in the last {window:g} h", probe=True),
            Step("disk", _disk, "docker data root and mounted volumes (df), node-exporter", probe=True),
            Step("kubernetes", _kubernetes, "EKS: GPU nodes Ready, inference pods Running", probe=True),
            Step("slo-and-cost", _metrics, f"error rate, p99, cost from Prometheus ({prom})", probe=True),
            Step(
                "verdict",
                _verdict,
                "one table and the report; exit 1 if any line fails (--strict: or warns)",
                probe=True,
            ),
        ),
    )
