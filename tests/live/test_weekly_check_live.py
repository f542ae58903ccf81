"""runbook.weekly-check on the live stack (`make up` first): `pytest -m live tests/live`.

The stack is shared and earlier tests stop services, so each test opens its own short window:
it waits until every scraped service is up, waits for enough scrapes after that moment, and runs
the check over exactly that window. Healthy: green. A backend stopped inside the window: its
availability and the backend-call error rate fail with the figures (it is started again and
waited healthy whatever happens). The report of the healthy run is looked at in a screenshot.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from infra.spec import Platform
from runbooks.targets import target_for
from runbooks.weekly import slo
from runbooks.weekly.window import Window
from tests.support.live import INVOKE, ROOT, STACK
from tests.support.screenshot import looks, rgb, shoot

pytestmark = pytest.mark.live

STOPPED = "inference-code"  # a backend: the gateway fails over, so only the item can tell
MIN_SCRAPES = 6


def _prom(platform: Platform) -> str:
    return platform.url(platform.service("prometheus"))


def _query(platform: Platform, q: str) -> list[dict[str, Any]]:
    body = httpx.get(f"{_prom(platform)}/api/v1/query", params={"query": q}, timeout=10).json()
    assert body["status"] == "success", body
    return body["data"]["result"]


def _poll(what: str, fn: Any, timeout_s: float = 180, every_s: float = 1.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            got = fn()
            if got:
                return got
        time.sleep(every_s)
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")


def _all_up(platform: Platform) -> bool:
    target = target_for(platform)
    if not all(target.state(s.name).serving for s in platform.enabled()):
        return False
    result = _query(platform, "up")
    return bool(result) and all(r["value"][1] == "1" for r in result)


def _open_window(platform: Platform) -> float:
    """The moment from which every service is up; returns it (unix time)."""
    _poll("every service up and scraped", lambda: _all_up(platform))
    return time.time()


def _window_since(t0: float) -> str:
    """The window from t0 to now, whole seconds, never reaching back before t0."""
    return f"{max(30, math.floor(time.time() - t0))}s"


def _scrapes_since(platform: Platform, t0: float) -> bool:
    """At least 30 s (the shortest window) since t0, and MIN_SCRAPES of every service in them."""
    if time.time() - t0 < 30:
        return False
    w = _window_since(t0)
    result = _query(platform, f"min(count_over_time(up[{w}]))")
    return bool(result) and float(result[0]["value"][1]) >= MIN_SCRAPES


def _weekly(window: str, env: dict[str, str]) -> tuple[subprocess.CompletedProcess, dict[str, Any]]:
    proc = subprocess.run([INVOKE, "runbook.weekly-check", "--stack", STACK, "--window", window, "--json"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)  # fmt: skip
    return proc, json.loads(proc.stdout)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "INFEROPS_RUNS_DIR": str(tmp_path / "runs")}


def _lines(record: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(f["check"], f["subject"]): f for f in record["measurements"]["weekly_check"]["findings"]}


def test_weekly_check_is_green_on_a_healthy_stack(platform: Platform, env: dict[str, str], reports_dir: Path,
                                                  tmp_path: Path) -> None:  # fmt: skip
    t0 = _open_window(platform)
    _poll(f"{MIN_SCRAPES} scrapes of every service", lambda: _scrapes_since(platform, t0))
    window = _window_since(t0)
    proc, record = _weekly(window, env)
    lines = _lines(record)
    bad = {k: (f["verdict"], f["detail"]) for k, f in lines.items() if f["verdict"] == "fail"}
    assert proc.returncode == 0 and not bad, (bad, proc.stderr[-3000:])
    scraped = [s.name for s in platform.enabled() if lines[("availability", s.name)]["verdict"] != "n/a"]
    assert "api-gateway" in scraped and STOPPED in scraped
    assert all(lines[("availability", s)]["data"]["up_pct"] == 100 for s in scraped)
    assert lines[("errors", "backend calls")]["verdict"] == "ok"  # the gateway's own health checks ran
    assert (
        lines[("backup-restore", "-")]["verdict"] == "n/a" and "no qdrant" in lines[("backup-restore", "-")]["detail"]
    )
    # the report a person reads: written, and on the screen with its table
    html = Path(record["measurements"]["report"]["html"])
    assert html.parent == reports_dir / STACK
    seen = looks(shoot(html, tmp_path / "weekly.png"))
    assert seen.stddev > 20 and seen.colours.get(rgb("#2c3e50"), 0) > 1200 * 10
    assert seen.colours.get(rgb("#1e8449"), 0) > 500  # green verdict cells


def test_a_service_stopped_in_the_window_fails_availability_and_errors(platform: Platform,
                                                                       env: dict[str, str]) -> None:  # fmt: skip
    target = target_for(platform)
    t0 = _open_window(platform)
    _poll("30 s of the window with every service up", lambda: time.time() - t0 >= 30)
    w0 = Window.parse("30s")
    failed_q = slo.counted_queries(slo.BACKEND_FAILED, w0)
    target.stop(STOPPED)
    try:
        _poll(f"Prometheus to see {STOPPED} down",
              lambda: any(r["value"][1] == "0" for r in _query(platform, f'up{{service="{STOPPED}"}}')))  # fmt: skip
        _poll("the gateway to record a failed backend call",
              lambda: sum(float(r["value"][1]) for q in failed_q for r in _query(platform, q)) > 0)  # fmt: skip
    finally:
        target.start(STOPPED)
        _poll(f"{STOPPED} healthy and scraped again", lambda: _all_up(platform))
    proc, record = _weekly(_window_since(t0), env)
    lines = _lines(record)
    down = lines[("availability", STOPPED)]
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert down["verdict"] == "fail" and down["data"]["up_pct"] < 99.9 and down["data"]["down_s"] > 0, down
    errors = lines[("errors", "backend calls")]
    assert errors["verdict"] == "fail" and errors["data"]["failed"] > 0, errors
    assert errors["data"]["budget"]["spent_pct"] > 100
    assert f"availability {STOPPED}" in record["error"]
    assert lines[("availability", "api-gateway")]["verdict"] == "ok"  # only what was stopped is blamed
