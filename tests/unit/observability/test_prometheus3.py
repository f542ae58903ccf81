"""Prometheus 3 (the stacks' pin) computes some rules differently from Debian's 2.42, and no rule
of the project depends on the 2.x behaviour.

Each difference runs on both versions' real binaries, so the test shows it is real on this
machine: a rule test written for 2.x passes on promtool 2.42 and fails on 3.7.3 (and the other
way round), and a classic histogram scraped by each server keeps `le="1"` on 2.x but is stored
as `le="1.0"` on 3.x, so a rule that matches `le="1"` silently never fires on the deployed server.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread

import httpx
import pytest
import yaml

from infra.monitoring.build import reported_version
from infra.monitoring.tools import DEBIAN_FALLBACK, PROMETHEUS, PROMTOOL, pinned_release
from infra.observability.dashboards import dashboards, panel_queries
from infra.observability.rules import rule_files
from infra.spec import Platform, load_platform
from infra.spec.stackconfig import available_stacks
from tests.support.monitoring_tools import require_pinned, run

# The first build of these (minutes) happens before the tests start (conftest.py).
pytestmark = pytest.mark.monitoring_tools("promtool", "prometheus")
CASES = Path(__file__).parent / "prometheus3"
HISTOGRAM = (
    "# HELP request_seconds Request latency.\n"
    "# TYPE request_seconds histogram\n"
    'request_seconds_bucket{le="1"} 3\n'
    'request_seconds_bucket{le="+Inf"} 4\n'
    "request_seconds_sum 2.5\n"
    "request_seconds_count 4\n"
)
MATCHER = re.compile(r'(\w+)\s*(=~|!~|!=|=)\s*"([^"]*)"')
FLOAT_FORM = re.compile(r"\+Inf|-?\d+\.\d+(e[+-]?\d+)?")  # how 3.x writes le/quantile values
READY_WITHIN_S = 60.0


def debian(name: str) -> Path:
    """Debian's 2.x binary (the 2.x reference here); skip when the package is not installed."""
    found = shutil.which(DEBIAN_FALLBACK[name])
    if found is None:
        pytest.skip(f"Debian's {DEBIAN_FALLBACK[name]} (the 2.x reference) is not installed")
    version = reported_version(Path(found))
    assert version.startswith("2."), f"{found} is {version}, not a 2.x reference"
    return Path(found)


def binary(name: str, major: str) -> Path:
    if major == "2x":
        return debian(name)
    found = require_pinned(name)
    assert reported_version(found.path) == pinned_release(found.tool)
    return found.path


@pytest.mark.parametrize("runs_on", ["2x", "3x"])
@pytest.mark.parametrize("written_for", ["2x", "3x"])
def test_a_rule_test_passes_only_on_the_version_it_was_written_for(
    written_for: str, runs_on: str, tmp_path: Path
) -> None:
    """Left-open range selectors and regex `.` matching newlines, through `promtool test rules`."""
    for case in CASES.glob("*.yml"):
        shutil.copyfile(case, tmp_path / case.name)
    done = run(binary("promtool", runs_on), "test", "rules", f"as-{written_for}.test.yml", cwd=tmp_path)
    out = done.stdout + done.stderr
    if written_for == runs_on:
        assert done.returncode == 0 and "SUCCESS" in out, out
    else:
        assert done.returncode != 0 and "FAILED" in out, out
        assert "probe:samples_2m" in out and "log:disk_full_errors" in out, out  # both differences, not one


class Exporter(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = HISTOGRAM.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def exporter() -> Iterator[str]:
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Exporter)
    Thread(target=srv.serve_forever, daemon=True).start()
    yield f"127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def query(url: str, expr: str) -> list[dict]:
    response = httpx.get(f"{url}/api/v1/query", params={"query": expr}, timeout=5)
    response.raise_for_status()
    return response.json()["data"]["result"]


def scraped_once(url: str, proc: subprocess.Popen[bytes]) -> None:
    """Until the first scrape is stored (its `up` sample is committed with the scraped samples)."""
    deadline = time.monotonic() + READY_WITHIN_S
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"prometheus exited {proc.returncode}"
        try:
            if query(url, 'up{job="exporter"} == 1'):
                return
        except httpx.HTTPError:
            pass  # not listening yet
        time.sleep(0.2)
    pytest.fail(f"no scrape stored within {READY_WITHIN_S:.0f} s")


@pytest.fixture
def prometheus_of(exporter: str, tmp_path: Path) -> Iterator:
    procs: list[subprocess.Popen[bytes]] = []

    def start(major: str) -> str:
        config = tmp_path / f"prometheus-{major}.yml"
        scrape = {"job_name": "exporter", "static_configs": [{"targets": [exporter]}]}
        config.write_text(yaml.safe_dump({"global": {"scrape_interval": "1s"}, "scrape_configs": [scrape]}))
        port = free_port()
        args = [f"--config.file={config}", f"--storage.tsdb.path={tmp_path / major}"]
        proc = subprocess.Popen(
            [str(binary("prometheus", major)), *args, f"--web.listen-address=127.0.0.1:{port}"],
            stdout=subprocess.DEVNULL,
            stderr=(tmp_path / f"{major}.log").open("wb"),
        )
        procs.append(proc)
        url = f"http://127.0.0.1:{port}"
        scraped_once(url, proc)
        return url

    yield start
    for proc in procs:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.parametrize(("major", "stored"), [("2x", "1"), ("3x", "1.0")])
def test_classic_histogram_le_is_stored_as_a_float_on_3x(major: str, stored: str, prometheus_of) -> None:
    """The same exposition (`le="1"`), scraped by each version: what a rule can match afterwards."""
    url = prometheus_of(major)
    assert {s["metric"]["le"] for s in query(url, "request_seconds_bucket")} == {stored, "+Inf"}
    exact = query(url, 'request_seconds_bucket{le="1"} > 0')  # an alert on the 1 s bucket
    assert bool(exact) is (major == "2x"), exact
    assert query(url, "histogram_quantile(0.5, request_seconds_bucket)"), "quantiles work on both"


def v2_dependencies(exprs: list[str]) -> list[str]:
    """`le`/`quantile` matchers not in the float form 3.x stores ("1.0", "+Inf"), and regexes
    with `.` (it matches newlines on 3.x): each one a rule that may behave differently there."""
    problems = []
    for expr in exprs:
        for name, op, value in MATCHER.findall(expr):
            if name in ("le", "quantile") and op in ("=", "!=") and not FLOAT_FORM.fullmatch(value):
                problems.append(f'{name}{op}"{value}" in {expr!r}: 3.x stores floats ("1.0")')
            if op in ("=~", "!~") and "." in value.replace("\\.", ""):
                problems.append(f'{name}{op}"{value}" in {expr!r}: `.` matches newlines on 3.x')
    return problems


def project_queries(platform: Platform) -> list[str]:
    """Every alert rule's expression and every dashboard panel's query of a stack."""
    exprs = [
        rule["expr"]
        for text in rule_files(platform).values()
        for group in yaml.safe_load(text)["groups"]
        for rule in group["rules"]
    ]
    return exprs + [expr for board in dashboards(platform).values() for _title, expr in panel_queries(board)]


@pytest.mark.parametrize("stack", available_stacks())
def test_no_project_query_depends_on_2x_label_values_or_regex(stack: str) -> None:
    """The range-selector change is covered by running every rule test on promtool 3.7.3
    (test_rules_promtool); this covers what a rule test's input series cannot show."""
    queries = project_queries(load_platform(stack))
    assert any(MATCHER.search(q) for q in queries), "no matcher found: the check would pass on anything"
    assert v2_dependencies(queries) == []


def test_the_static_check_can_fail() -> None:
    bad = ['sum(x_bucket{le="1"})', 'y{quantile="0.5"} and z{msg=~"a.b"}', 'w{fstype!~"tmpfs|a\\.b"}']
    problems = v2_dependencies(bad)
    assert len(problems) == 2 and 'le="1"' in problems[0] and 'msg=~"a.b"' in problems[1], problems


def test_the_pinned_builds_are_the_3x_side() -> None:
    assert pinned_release(PROMTOOL).startswith("3.") and pinned_release(PROMETHEUS).startswith("3.")
