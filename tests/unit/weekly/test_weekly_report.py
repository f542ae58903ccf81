"""runbook.weekly-check and daily-check end to end through `execute` against the Prometheus API
double (instant and range queries): the table, the record, the exit code, and the report they
write, looked at in a headless chromium screenshot (not only parsed)."""

from __future__ import annotations

import time
from html.parser import HTMLParser
from pathlib import Path

import pytest

from infra.spec import Platform
from runbooks.daily_check import runbook as daily_check
from runbooks.framework import ExitCode, Options, execute
from runbooks.framework.display import Display
from runbooks.reports import render, series
from runbooks.weekly import slo
from runbooks.weekly.window import Window
from runbooks.weekly_check import runbook as weekly_check
from tests.doubles.prometheus_double import PrometheusDouble, serving
from tests.support.screenshot import looks, rgb, shoot

WINDOW = "10m"


def _double(now: float) -> PrometheusDouble:
    """A stack whose inference-chat was down a minute of the last ten, with the series behind it."""
    double = PrometheusDouble()
    w = Window.parse(WINDOW, scrape_s=15, end=now)  # the runbook's window ends a moment later: same queries
    up_q, count_q = slo.availability_queries(w)
    double.answer(up_q, ({"service": "inference-chat"}, 0.9), ({"service": "inference-code"}, 1.0))
    double.answer(count_q, ({"service": "inference-chat"}, 40.0), ({"service": "inference-code"}, 40.0))
    for q in slo.QUANTILES:
        double.answer(slo.latency_query(q, w), ({"group": "chat"}, {0.5: 0.2, 0.95: 0.9, 0.99: 1.4}[q]))
    steps = [now - 600 + 15 * i for i in range(41)]
    q = series.plot_queries(w)
    for name, shape in (("p50", 0.2), ("p95", 0.9), ("p99", 1.4), ("gateway", 0.0), ("backend", 0.0)):
        double.series(q[name], ({}, [(t, shape + (0.5 if name == "p99" and i % 7 == 0 else 0)) for i, t in
                                     enumerate(steps)]))  # fmt: skip
    double.series(q["up"], ({"service": "inference-chat"}, [(t, 0.0 if 20 <= i < 24 else 100.0) for i, t in
                                                             enumerate(steps)]),
                  ({"service": "inference-code"}, [(t, 100.0) for t in steps]))  # fmt: skip
    return double


def _run(module, platform: Platform, prom: str, **extra: object):
    options = Options(stack=platform.stack, json=True, extra={"prometheus_url": prom, **extra})
    return execute(module.build(platform, options), options, platform, display=Display(quiet=True))


@pytest.fixture
def weekly(platform: Platform, reports_dir: Path) -> tuple[object, Path]:
    now = time.time()
    with serving(_double(now)) as double:  # instant queries name the window, not its end: the same strings
        record = _run(weekly_check, platform, double.url, window=WINDOW)
    return record, reports_dir / platform.stack


def test_weekly_check_fails_on_downtime_and_writes_the_report(weekly: tuple[object, Path]) -> None:
    record, where = weekly
    assert record.exit_code == ExitCode.FAILED and "availability inference-chat" in record.error
    report = record.measurements["weekly_check"]
    lines = {(f["check"], f["subject"]): f for f in report["findings"]}
    assert lines[("availability", "inference-chat")]["verdict"] == "fail"
    assert lines[("availability", "inference-chat")]["data"]["down_s"] == 60
    assert lines[("latency", "chat")]["verdict"] == "ok"
    assert lines[("backup-restore", "-")]["verdict"] == "n/a"  # the unit stack has no qdrant
    items = {"logs", "images", "releases", "latency", "errors", "availability", "capacity", "cost", "backup-restore"}
    assert {f["check"] for f in report["findings"]} >= items
    assert all(f["how"] for f in report["findings"] if f["verdict"] != "n/a")  # how it was measured, always
    paths = record.measurements["report"]
    html = Path(paths["html"])
    assert html.parent == where and html.name.endswith("-weekly-check.html")
    assert Path(paths["md"]).read_text().count("\n| ") == len(report["findings"]) + 1  # header + one row each
    for key in ("latency", "errors", "availability"):
        assert Path(paths[f"png:{key}"]).read_bytes().startswith(b"\x89PNG")


class _Table(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.rows, self.images = 0, 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.rows += tag == "tr"
        self.images += tag == "img" and dict(attrs).get("src", "").startswith("data:image/png;base64,")


def test_the_report_renders_with_its_table_and_plots(weekly: tuple[object, Path], tmp_path: Path) -> None:
    record, _ = weekly
    html = Path(record.measurements["report"]["html"])
    parsed = _Table()
    parsed.feed(html.read_text())
    assert parsed.rows == len(record.measurements["weekly_check"]["findings"]) + 1 and parsed.images == 3
    seen = looks(shoot(html, tmp_path / "report.png"))
    assert seen.size == (1200, 1600)
    assert seen.stddev > 20, "the screenshot is blank"
    header = seen.colours.get(rgb("#2c3e50"), 0)  # the table's header band
    assert header > 1200 * 10, f"no table header on the screenshot ({header} px)"
    for verdict in ("fail", "ok", "n/a"):  # the verdict cells, in their colours
        assert seen.colours.get(rgb(render.COLOURS[verdict]), 0) > 500, verdict


def test_daily_check_writes_its_report_too(platform: Platform, reports_dir: Path) -> None:
    with serving(PrometheusDouble()) as double:
        record = _run(daily_check, platform, double.url)
    paths = record.measurements["report"]
    text = Path(paths["html"]).read_text()
    assert Path(paths["html"]).name.endswith("-daily-check.html") and Path(paths["html"]).parent == reports_dir / "unit"
    assert "<table" in text and "containers" in text and "data:image/png;base64," in text
