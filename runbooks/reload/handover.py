"""Move a service's traffic from one instance to another without losing a request.

1. attach the new instance to the stack network under the service's DNS aliases;
2. check the gateway's own resolver now returns its address, then wait out the gateway's DNS
   cache (its `AIOHTTP_TTL_DNS_CACHE`, from the service table) so every new connection the
   gateway opens may land on it;
3. close the old instance's drain gate (new connections are reset, so the gateway's connector
   moves on to the new address; open ones keep being served);
4. wait until the old instance has no open connection and no busy slot: from then on nothing can
   reach it, and it is stopped and removed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from infra.spec.model import Platform, Role, Service
from infra.spec.reload import GATEWAY_DNS_TTL_DEFAULT_S, GATEWAY_DNS_TTL_ENV
from runbooks.framework.errors import RunbookError
from runbooks.reload import instances, netgate
from runbooks.targets import netns

if TYPE_CHECKING:
    from docker import DockerClient
    from docker.models.containers import Container

POLL_S = 0.2


def gateway_dns_ttl_s(platform: Platform) -> float:
    """How long the gateway may keep using a cached DNS answer (LiteLLM's default: 300 s)."""
    gateways = platform.by_role(Role.GATEWAY)
    if not gateways:
        return 0.0
    raw = gateways[0].env.get(GATEWAY_DNS_TTL_ENV)
    try:
        return float(raw) if raw is not None else float(GATEWAY_DNS_TTL_DEFAULT_S)
    except ValueError:
        return float(GATEWAY_DNS_TTL_DEFAULT_S)


@dataclass
class Mover:
    """What a handover needs: the engine, the stack network, the service and its gateway."""

    client: DockerClient
    platform: Platform
    service: Service
    progress: Callable[[str], None] = lambda _: None
    figures: dict[str, Any] = field(default_factory=dict)

    @property
    def network(self) -> str:
        return self.platform.network

    def gateway(self) -> Container | None:
        import docker.errors

        gws = self.platform.by_role(Role.GATEWAY)
        if not gws or self.service.name not in {b for r in self.platform.gateway.routes.values() for b in r}:
            return None
        try:
            return self.client.containers.get(gws[0].name)
        except docker.errors.NotFound:
            return None

    def gateway_sees(self, address: str, timeout_s: float = 15) -> bool:
        """Whether the gateway's resolver returns `address` for the service (getent inside it)."""
        gw = self.gateway()
        if gw is None:
            return False
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            code, out = instances.run_in(gw, ["getent", "ahostsv4", self.service.name])
            if code == 0 and any(line.split()[0] == address for line in out.splitlines() if line.strip()):
                return True
            time.sleep(POLL_S)
        raise RunbookError(f"the gateway does not resolve {self.service.name} to {address} after {timeout_s:g} s")

    def attach(self, new: Container, names: list[str]) -> str:
        """Step 1 and 2: the new instance joins under `names`; returns once the gateway can use it."""
        address = instances.attach(self.client, new, self.network, names)
        seen = self.gateway_sees(address)
        settle = gateway_dns_ttl_s(self.platform) + self.platform.reload.dns_settle_margin_s if seen else 0.0
        t0 = time.monotonic()
        while (left := settle - (time.monotonic() - t0)) > 0:
            self.progress(f"{new.name} at {address}; gateway DNS cache expires in {left:.1f} s")
            time.sleep(min(POLL_S, left))
        self.figures.setdefault("dns_settle_s", []).append(round(settle, 2))
        return address

    def client_addresses(self) -> set[str]:
        """Addresses of the gateway(s) on the stack network: the clients whose requests must finish.

        Other peers (Prometheus scraping /metrics) send idempotent GETs that their HTTP clients
        retry on a new connection; their idle keep-alive connections do not hold a drain up.
        """
        import docker.errors

        out: set[str] = set()
        for gw in self.platform.by_role(Role.GATEWAY):
            try:
                c = self.client.containers.get(gw.name)
            except docker.errors.NotFound:  # no gateway container: every peer counts
                continue
            net = (c.attrs.get("NetworkSettings", {}).get("Networks") or {}).get(self.network) or {}
            if net.get("IPAddress"):
                out.add(net["IPAddress"])
        return out

    def busy_slots(self, old: Container) -> int:
        """Slots still processing (llama-server /slots); 0 when the image cannot tell."""
        if self.service.health.tool != "curl":
            return 0
        code, out = instances.run_in(
            old, ["curl", "-sS", "--max-time", "5", f"http://127.0.0.1:{self.service.port}/slots"]
        )
        try:
            slots = json.loads(out) if code == 0 else []
        except ValueError:
            return 0
        return sum(1 for s in slots if isinstance(s, dict) and s.get("is_processing"))

    def drain(self, old: Container) -> dict[str, Any]:
        """Steps 3 and 4 up to the stop: close the gate, wait for the last connection to end."""
        pid = netns.container_pid(old)
        port = self.service.port
        netgate.close(pid, port)
        timeout = self.platform.reload.drain_timeout_s
        t0 = time.monotonic()
        most = 0
        clients = self.client_addresses()
        while True:
            conns = [c for c in netgate.read_connections(pid, port) if not clients or c.remote in clients]
            most = max(most, len(conns))
            if not conns and self.busy_slots(old) == 0:
                took = round(time.monotonic() - t0, 3)
                self.figures.setdefault("drain_s", []).append(took)
                return {"drained_after_s": took, "most_open_connections": most}
            waited = time.monotonic() - t0
            if waited > timeout:
                peers = ", ".join(sorted({c.remote for c in conns}))
                raise RunbookError(
                    f"{old.name} still has {len(conns)} open connection(s) (from {peers}) after {timeout:g} s "
                    "(inferops:reload.drain_timeout_s)"
                )
            self.progress(f"draining {old.name}: {len(conns)} open connection(s), {waited:.0f} s")
            time.sleep(POLL_S)

    def reopen(self, old: Container) -> None:
        """Rollback of a drain: the old instance takes new connections again."""
        import docker.errors

        try:
            netgate.open_(netns.container_pid(old), self.service.port)
        except (RunbookError, docker.errors.NotFound):
            return

    def retire(self, old: Container) -> dict[str, Any]:
        """Drain, then stop and remove the old instance."""
        out = self.drain(old)
        instances.remove(old, stop_timeout_s=int(self.service.health.timeout_s * 2) + 1)
        return out
