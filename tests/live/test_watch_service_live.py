"""The watch as a service of the live local stack: the real `watch` image, deployed by the real
compose export beside the running stack, its cycles on a 3 s cadence, its notices at the sink.

It sees the stack from the inside (services by name, containers through the mounted socket), so
this is the path a GPU host runs when it enables the row instead of the systemd timer. The bench
figure (stop → alert at the sink) is printed next to seed 000's 2 x 300 s.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import docker.errors
import httpx
import pytest

from infra.live.compose import compose
from infra.render.watch import WATCH_SERVICE
from infra.secrets_local import local_secret
from infra.spec import Platform, platform_from_config
from infra.spec.stackconfig import read_stack_config
from infra.targets.compose_export import write_compose
from runbooks.probes import wait_healthy_sync
from runbooks.targets import target_for
from tests.support.live import STACK
from tests.support.waiting import wait_until

pytestmark = pytest.mark.live
VICTIM = "inference-code"
PATH = "/watch-service"  # its own sink path: the `--once` tests read /watch
INTERVAL_S = 3


@pytest.fixture
def watched(platform: Platform, tmp_path: Path) -> Iterator[Platform]:
    """The local stack with its watch row on, deployed beside the running services; removed after."""
    raw = read_stack_config(STACK)
    raw["services"] = {**raw.get("services", {}), WATCH_SERVICE: {"enabled": True}}
    raw["watch"] = {
        **raw.get("watch", {}),
        "interval_s": INTERVAL_S,
        "receivers": [{"name": "sink", "kind": "webhook", "service": "alert-sink", "path": PATH}],
    }
    with_watch = platform_from_config(STACK, raw, source="test")
    compose_file = write_compose(with_watch, tmp_path / "export", lambda key: local_secret(STACK, key))
    httpx.delete(platform.url(platform.service("alert-sink"), "/notifications"), timeout=5)
    up = compose(compose_file, "up", "-d", "--no-deps", "--wait", "--wait-timeout", "120", WATCH_SERVICE, capture=True)
    try:
        assert up.returncode == 0, up.stderr[-2000:]
        yield with_watch
    finally:
        compose(compose_file, "rm", "--stop", "--force", WATCH_SERVICE, capture=True)
        with contextlib.suppress(docker.errors.NotFound):
            docker.from_env().volumes.get(f"{with_watch.network}-{WATCH_SERVICE}-data").remove(force=True)


def _notices(platform: Platform, key: str) -> list[dict]:
    url = platform.url(platform.service("alert-sink"), "/notifications")
    return [n for n in httpx.get(url, params={"path": PATH}, timeout=5).json() if n.get("key") == key]


def test_the_watch_container_alerts_once_and_recovers_once(watched: Platform) -> None:
    target = target_for(watched)
    svc = watched.service(VICTIM)
    key = f"docker:localhost:{VICTIM}:exited"
    assert target.state(WATCH_SERVICE).health == "healthy", "its heartbeat answers at /metrics"
    target.stop(VICTIM)
    t_fault = time.time()
    try:
        wait_until(lambda: _notices(watched, key), 20 * INTERVAL_S, f"an alert for {key} at the sink", 0.5)
        took = time.time() - t_fault
        time.sleep(3 * INTERVAL_S)  # three more cycles: still one alert (alert on change only)
        assert [n["kind"] for n in _notices(watched, key)] == ["alert"]
        print(f"\nbench: watch service, stop → alert at the sink {took:.1f} s (interval {INTERVAL_S} s, "
              f"alert_after {watched.watch.alert_after}); seed 000: 2 x 300 s = 600 s")  # fmt: skip
    finally:
        target.start(VICTIM)
        wait_healthy_sync(watched, svc, svc.health.ready_within_s, target)
    wait_until(lambda: len(_notices(watched, key)) == 2, 20 * INTERVAL_S, f"a recovery for {key}", 0.5)
    time.sleep(2 * INTERVAL_S)
    assert [n["kind"] for n in _notices(watched, key)] == ["alert", "recovery"]
