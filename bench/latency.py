"""A remote host for the benches: Toxiproxy in front of every published service, adding latency.

Why: on this machine the client and every server share two cores over loopback, so a parallel
sweep is bounded by CPU, not by waiting. An operator checks a GPU host over a network, where
waiting dominates. Toxiproxy (Shopify's TCP proxy for exactly this) adds that wait: half of the
round-trip latency on each direction of every connection. It is built from the Go module proxy
like the engine tools (tools/toxiproxy/go.mod, `.tools/bin/toxiproxy-server`).
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from infra.engine.build import build_tool, check_go
from infra.engine.tools import BIN_DIR, GO_MODULE_DIR, Tool, required_versions
from infra.spec.model import Platform

TOXIPROXY = Tool(
    name="toxiproxy-server",
    module="github.com/Shopify/toxiproxy/v2",
    package="github.com/Shopify/toxiproxy/v2/cmd/server",
    version_var="github.com/Shopify/toxiproxy/v2.Version",
    module_dir=GO_MODULE_DIR.parent / "toxiproxy",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def toxiproxy() -> Iterator[httpx.Client]:
    """A running toxiproxy-server (built if needed); yields a client for its REST API."""
    version = required_versions(TOXIPROXY.module_dir)[TOXIPROXY.module]
    build_tool(TOXIPROXY, version, check_go(TOXIPROXY.module_dir), TOXIPROXY.module_dir, BIN_DIR)
    port = _free_port()
    proc = subprocess.Popen(
        [str(TOXIPROXY.binary()), "-host", "127.0.0.1", "-port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    api = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                api.get("/version").raise_for_status()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield api
    finally:
        api.close()
        proc.terminate()
        proc.wait(timeout=10)


def delayed(api: httpx.Client, platform: Platform, rtt_ms: int) -> Platform:
    """`platform` with every published service reached through a proxy adding `rtt_ms` per round trip."""
    services = {}
    for name, svc in platform.services.items():
        if not (svc.enabled and svc.publish):
            services[name] = svc
            continue
        port = _free_port()
        upstream = f"{platform.access_host}:{svc.published_port}"
        proxy = {"name": name, "listen": f"127.0.0.1:{port}", "upstream": upstream}
        api.post("/proxies", json=proxy).raise_for_status()
        for stream in ("upstream", "downstream"):
            toxic = {"name": f"latency-{stream}", "type": "latency", "stream": stream, "toxicity": 1.0,
                     "attributes": {"latency": rtt_ms // 2, "jitter": 0}}  # fmt: skip
            api.post(f"/proxies/{name}/toxics", json=toxic).raise_for_status()
        services[name] = svc.model_copy(update={"host_port": port})
    return platform.model_copy(update={"services": services, "access_host": "127.0.0.1"})
