"""Stand-in lifecycle and handover on the real Docker engine, with busybox httpd instances.

The stand-in is cloned from a running container, started off the network, probed and then
attached under the service's alias; the old instance is gated, drained and removed while a
connection it holds is still served. No gateway here (the test platform has none).
"""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from infra.spec import platform_from_config
from runbooks.framework import RunbookError
from runbooks.reload import instances, netgate
from runbooks.reload.handover import Mover, gateway_dns_ttl_s
from runbooks.targets import netns

pytestmark = pytest.mark.skipif(netgate.unavailable_reason() is not None, reason=str(netgate.unavailable_reason()))

HTTPD = "mkdir -p /www && echo ok > /www/health && exec httpd -f -p 8080 -h /www"


@pytest.fixture
def env():
    from tests.unit.runbooks.dockerfix import docker_or_skip, ensure_image, scratch_network

    client = docker_or_skip()
    tag = f"reloadtest-{uuid.uuid4().hex[:6]}"
    with scratch_network(client, tag):
        yield from _env(client, tag, ensure_image(client))


def _env(client: Any, tag: str, image: str) -> Iterator[tuple[Any, ...]]:
    """One listening busybox httpd as the old inference-chat on network `tag`; what the test made is removed."""
    raw = {
        "network": tag,
        "gpuHost": False,
        "services": {
            "inference-chat": {"gpus": 0, "port": 8080, "health": {"tool": "wget", "interval_s": 1, "timeout_s": 1}},
            **{
                n: {"enabled": False}
                for n in ("api-gateway", "qdrant", "rag", "grafana", "node-exporter", "dcgm-exporter", "prometheus")
            },
        },
    }
    platform = platform_from_config("unit", raw, source="test")
    old = client.containers.run(
        image,
        ["sh", "-c", HTTPD],
        name=f"{tag}-old",
        network=tag,
        labels={"io.inferops.stack": "unit", "io.inferops.service": "inference-chat"},
        healthcheck={"test": ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/health"]},
        stop_signal="SIGKILL",
        detach=True,
    )
    made = [old]
    instances.wait_healthy(old, _probe(), 20)  # httpd listens before any test connects to it
    yield client, platform, tag, old, made
    for c in made:
        instances.remove(c, stop_timeout_s=1)


def _probe() -> list[str]:
    return ["wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/health"]


def test_stand_in_loads_off_network_then_takes_over_while_the_old_one_drains(env) -> None:
    client, platform, tag, old, made = env
    old.reload()
    stand_in = instances.clone(
        client, old.attrs, name=f"{tag}-new", command=("sh", "-c", HTTPD), network=tag, canonical=False
    )
    made.append(stand_in)
    instances.detach(client, stand_in, tag)
    stand_in.start()
    assert instances.wait_healthy(stand_in, _probe(), 20) < 20
    stand_in.reload()
    assert stand_in.attrs["NetworkSettings"]["Networks"] == {}  # unreachable while it loads
    assert stand_in.attrs["Config"]["Labels"][instances.RELOAD_LABEL] == f"{tag}-old"
    assert not stand_in.attrs["HostConfig"]["PortBindings"]

    mover = Mover(client, platform, platform.service("inference-chat"))
    address = mover.attach(stand_in, ["inference-chat"])
    assert instances.aliases(stand_in.attrs, tag)[0] == "inference-chat"
    old_ip = old.attrs["NetworkSettings"]["Networks"][tag]["IPAddress"]
    held = socket.create_connection((old_ip, 8080), timeout=2)  # a client mid-request on the old one
    released = threading.Timer(1.0, held.close)
    released.start()
    t0 = time.monotonic()
    figures = mover.retire(old)
    assert figures["most_open_connections"] == 1 and figures["drained_after_s"] >= 0.8
    assert time.monotonic() - t0 < 10
    assert not any(c.name == f"{tag}-old" for c in client.containers.list(all=True))
    with socket.create_connection((address, 8080), timeout=2) as s:  # the stand-in serves
        s.sendall(b"GET /health HTTP/1.0\r\n\r\n")
        assert b"200 OK" in s.recv(1024)


def test_a_stand_in_whose_process_exits_fails_fast_with_its_log(env) -> None:
    client, _, tag, old, made = env
    old.reload()
    broken = instances.clone(
        client, old.attrs, name=f"{tag}-bad", command=("sh", "-c", "echo 'error loading model'; exit 3"),
        network=tag, canonical=False,
    )  # fmt: skip
    made.append(broken)
    instances.detach(client, broken, tag)
    broken.start()
    t0 = time.monotonic()
    with pytest.raises(RunbookError, match=r"(?s)exited with code 3.*error loading model"):
        instances.wait_healthy(broken, _probe(), 30)
    assert time.monotonic() - t0 < 5


def test_drain_times_out_on_a_connection_that_never_closes_and_reopen_undoes_the_gate(env) -> None:
    client, platform, tag, old, _ = env
    conf = platform.reload.model_copy(update={"drain_timeout_s": 0.5})
    platform = platform.model_copy(update={"reload": conf})
    old.reload()
    held = socket.create_connection((old.attrs["NetworkSettings"]["Networks"][tag]["IPAddress"], 8080), timeout=2)
    mover = Mover(client, platform, platform.service("inference-chat"))
    try:
        with pytest.raises(RunbookError, match="still has 1 open connection"):
            mover.drain(old)
        assert netgate.is_closed(netns.container_pid(old), 8080)
        mover.reopen(old)
        assert not netgate.is_closed(netns.container_pid(old), 8080)
    finally:
        held.close()


def test_the_gateway_dns_ttl_comes_from_the_service_table() -> None:
    from infra.spec import load_platform

    assert gateway_dns_ttl_s(load_platform("local")) == 2.0
    raw = {"services": {"api-gateway": {"env": {}}}}
    assert gateway_dns_ttl_s(platform_from_config("x", raw, source="t")) in (2.0, 300.0)
