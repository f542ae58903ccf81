"""runbook.weekly-check's Prometheus items (latency, errors, availability, capacity, cost) against
the Prometheus API double answering the items' own queries, the images item against a Docker
Registry API double on loopback, and the window and config parsing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread

import pytest

from infra.spec import Platform, platform_from_config
from infra.spec.errors import ConfigError
from runbooks.daily.prom import Prometheus
from runbooks.weekly import capacity, cost, images, slo
from runbooks.weekly.window import Window
from tests.doubles.prometheus_double import PrometheusDouble, serving
from tests.unit.runbooks.conftest import TEST_STACK

W = Window.parse("600s", scrape_s=5, end=1_800_000_000)


def _platform(**weekly: object) -> Platform:
    raw = {**TEST_STACK, "weeklyCheck": weekly} if weekly else TEST_STACK
    return platform_from_config("weekly-unit", raw, source="tests/unit/weekly")


def _answer_latency(double: PrometheusDouble, p95: dict[str, float]) -> None:
    for q in slo.QUANTILES:
        factor = {0.5: 0.2, 0.95: 1.0, 0.99: 1.5}[q]
        double.answer(slo.latency_query(q, W), *[({"group": g}, v * factor) for g, v in p95.items()])
    double.answer(slo.count_query(W), *[({"group": g}, 100.0) for g in p95])


def _answer_counted(double: PrometheusDouble, metric: str, old: float, new: float = 0.0) -> None:
    q_old, q_new = slo.counted_queries(metric, W)
    double.answer(q_old, ({}, old))
    if new:
        double.answer(q_new, ({}, new))


def test_p95_is_judged_by_the_mode_of_its_group() -> None:
    double = PrometheusDouble()
    _answer_latency(double, {"chat": 2.7, "code": 2.7})  # over FAST's 2.5 s, under BALANCED's 3.0 s
    with serving(double):
        found = {f.subject: f for f in slo.latency(_platform(), Prometheus(double.url), W)}
    assert found["chat"].verdict == "fail" and found["chat"].normal.startswith("p95 < 2.5 s (fast")
    assert found["code"].verdict == "ok" and "balanced" in found["code"].normal
    assert "p50 0.54 s, p95 2.7 s, p99 4.05 s over 100 requests" in found["chat"].detail
    assert found["chat"].data["p95_target_s"] == 2.5 and "histogram_quantile" in found["chat"].how


def test_error_rate_counts_series_born_in_the_window_and_spends_the_budget() -> None:
    double = PrometheusDouble()
    _answer_counted(double, slo.PROXY_FAILED, old=0.0)
    _answer_counted(double, slo.PROXY_TOTAL, old=1000.0)
    _answer_counted(double, slo.BACKEND_FAILED, old=0.0, new=12.0)  # first failures ever: a new series
    _answer_counted(double, slo.BACKEND_OK, old=388.0)
    with serving(double):
        found = {f.subject: f for f in slo.errors(_platform(), Prometheus(double.url), W)}
    assert found["gateway requests"].verdict == "ok" and found["gateway requests"].data["failed"] == 0
    backend = found["backend calls"]
    assert backend.verdict == "fail"
    assert backend.data == {
        "failed": 12,
        "total": 400,
        "error_rate_pct": 3.0,
        "budget": {"allowed": 4.0, "spent_pct": 300.0},
    }
    assert "3.00 % failed (12 of 400 in 600s)" in backend.detail


def test_availability_fails_with_the_downtime_and_budget() -> None:
    double = PrometheusDouble()
    up_q, count_q = slo.availability_queries(W)
    double.answer(up_q, ({"service": "inference-chat"}, 0.9), ({"service": "prometheus"}, 0.95),
                  ({"service": "inference-code"}, 1.0))  # fmt: skip
    double.answer(count_q, *[({"service": s}, 120.0) for s in ("inference-chat", "prometheus", "inference-code")])
    with serving(double):
        found = {f.subject: f for f in slo.availability(_platform(), Prometheus(double.url), W)}
    chat = found["inference-chat"]
    assert chat.verdict == "fail" and chat.data["down_s"] == 60 and chat.data["budget_s"] == 0.6
    assert "90.000 % up over 10 min of data: 1 min down, budget 0.6 s, 10000 % spent" in chat.detail
    assert found["prometheus"].verdict == "warn"  # monitoring: a warning, as in runbook.health
    assert found["inference-code"].verdict == "ok"
    assert found["embedding"].verdict == "n/a" and "not scraped" in found["embedding"].detail


def test_no_prometheus_is_n_a_never_a_pass() -> None:
    found = slo.slo(_platform(), None, W)
    assert {f.verdict for f in found} == {"n/a"} and all("no Prometheus" in f.detail for f in found)


def test_prometheus_down_is_a_warning_naming_it() -> None:
    found = slo.slo(_platform(), Prometheus("http://127.0.0.1:9", timeout_s=0.5), W)
    assert [f.verdict for f in found] == ["warn"] and "does not answer" in found[0].detail


def _gpu_platform() -> Platform:
    raw = {**TEST_STACK, "gpuHost": True, "services": {**TEST_STACK["services"], "dcgm-exporter": {"enabled": True}}}
    return platform_from_config("weekly-gpu", raw, source="tests/unit/weekly")


def test_capacity_trend_and_headroom_from_dcgm() -> None:
    gpu0 = {"gpu": "0", "Hostname": "gpu-1"}
    double = PrometheusDouble()
    q = capacity.queries(W)
    double.answer(q["avg"], (gpu0, 86.0))
    double.answer(q["first"], (gpu0, 80.0))
    double.answer(q["second"], (gpu0, 92.0))
    double.answer(q["peak_memory"], (gpu0, 0.95))
    with serving(double):
        (found,) = capacity.capacity(_gpu_platform(), Prometheus(double.url), W)
    assert found.subject == "gpu-1/gpu0" and found.verdict == "warn"
    assert "use 86 % average, trend +12 points" in found.detail and "peak memory 95 % (5 % headroom)" in found.detail
    assert "plan the next scale-up" in found.detail and found.normal.startswith("use 40-80 %")


def test_capacity_without_dcgm_is_n_a_with_the_reason() -> None:
    (found,) = capacity.capacity(_platform(), None, W)
    assert found.verdict == "n/a" and "no dcgm-exporter" in found.detail


def test_cost_over_the_window_scaled_to_a_week() -> None:
    double = PrometheusDouble()
    q = cost.queries(Window.parse("1d", end=1_800_000_000))
    double.answer(q["total"], ({}, 50.0))  # $50 an hour: $1200 a day, $8400 a week
    double.answer(q["gpu"], ({}, 40.0))
    with serving(double):
        (found,) = cost.cost(_platform(), Prometheus(double.url), Window.parse("1d", end=1_800_000_000))
    assert found.verdict == "warn" and found.data["usd"] == 1200 and found.data["usd_per_week"] == 8400
    assert "GPUs $960 (80 %)" in found.detail


def test_cost_without_a_cost_metric_is_n_a() -> None:
    with serving(PrometheusDouble()) as double:
        (found,) = cost.cost(_platform(), Prometheus(double.url), W)
    assert found.verdict == "n/a" and "no cost metric" in found.detail


@pytest.mark.parametrize(
    ("ref", "want"),
    [
        ("prom/prometheus:v3.7.3", images.ImageRef("", "prom/prometheus", "v3.7.3")),
        ("ghcr.io/ggml-org/llama.cpp:server-cuda-b7100",
         images.ImageRef("ghcr.io", "ggml-org/llama.cpp", "server-cuda-b7100")),
        ("busybox", images.ImageRef("", "library/busybox", "latest")),
        ("localhost:5000/team/app:1.2", images.ImageRef("localhost:5000", "team/app", "1.2")),
    ],
)  # fmt: skip
def test_image_references(ref: str, want: images.ImageRef) -> None:
    assert images.parse_ref(ref) == want


def test_newer_tags_stay_in_the_pins_scheme() -> None:
    tags = ["v3.7.3", "v3.8.0", "v3.10.1", "v3.8.0-rc.0", "v4", "latest", "3.9.0", "v3.7.2"]
    assert images.newer_tags("v3.7.3", tags) == ["v3.10.1", "v3.8.0"]
    assert images.newer_tags("server-cuda-b7100", ["server-cuda-b7200", "server-b7300", "server-cuda-b7000"]) == [
        "server-cuda-b7200"
    ]


@pytest.fixture
def registry() -> Iterator[str]:
    """A Docker Registry HTTP API v2 double: tags of prom/prometheus only (404 for others)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.startswith("/v2/prom/prometheus/tags/list"):
                body, status = json.dumps({"name": "prom/prometheus", "tags": ["v3.7.3", "v3.8.1"]}).encode(), 200
            else:
                body, status = b'{"errors":[{"code":"NAME_UNKNOWN"}]}', 404
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def test_releases_newer_than_the_pin_in_the_registry(registry: str) -> None:
    platform = _platform(registry_url=registry)
    services = [platform.services["prometheus"], platform.services["alertmanager"], platform.services["alert-sink"]]
    found = {f.subject: f for f in images.releases(platform, services)}
    assert found["prom/prometheus:v3.7.3"].verdict == "warn" and "v3.8.1" in found["prom/prometheus:v3.7.3"].detail
    assert (
        found["prom/alertmanager:v0.30.0"].verdict == "n/a" and "offline?" in found["prom/alertmanager:v0.30.0"].detail
    )
    assert (
        found["inferops/alert-sink:local"].verdict == "n/a"
        and "built here" in found["inferops/alert-sink:local"].detail
    )


def test_releases_without_a_registry_are_n_a() -> None:
    (found,) = images.releases(_platform(), _platform().enabled())
    assert found.verdict == "n/a" and "registry_url" in found.detail


@pytest.mark.parametrize("text", ["7x", "0d", "10s", "100d", "", "7 d"])
def test_bad_windows_are_named(text: str) -> None:
    with pytest.raises(ValueError, match=r"window|outside"):
        Window.parse(text)


def test_window_steps_and_ranges() -> None:
    w = Window.parse("7d", scrape_s=15)
    assert w.seconds == 604800 and w.prom == "604800s" and w.step_s == 5040 and w.rate_range == "5040s"
    assert Window.parse("2m", scrape_s=5).rate_range == "20s"


@pytest.mark.parametrize(
    ("weekly", "named"),
    [
        ({"window": "1y"}, "weeklyCheck.window"),
        ({"group_modes": {"chat": "turbo"}}, "turbo"),
        ({"gpu_util_low_pct": 90, "gpu_util_high_pct": 80}, "gpu_util_low_pct"),
        ({"availability_slo_pct": 100}, "availability_slo_pct"),
        ({"registry_url": "ftp://mirror"}, "registry_url"),
    ],
)
def test_bad_config_values_are_named(weekly: dict, named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        _platform(**weekly)
