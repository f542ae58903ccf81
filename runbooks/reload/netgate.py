"""The drain gate: an instance stops accepting new TCP connections while its open ones finish.

llama-server has no drain mode (in-flight requests die with the process), and Docker cannot
take a network alias off a container without cutting its connections. So before the old
instance goes, a netfilter rule in *its own* network namespace answers new connections to its
port with a TCP reset: the gateway's connector then tries the next address its DNS lookup gave
(the new instance), while connections already open keep being served until they end: the
gateway reuses none (`AIOHTTP_KEEPALIVE_TIMEOUT=0` in the service table), and llama-server
closes an idle one after 5 s. When the table of open connections is empty, no request can reach
the old instance any more.

The rule is installed with `nsenter` + `iptables` from the Docker host (root, local engine); it
disappears with the container's namespace.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

from runbooks.framework.errors import RunbookError
from runbooks.targets import netns

# /proc/net/tcp states that still carry (or may still carry) a request.
OPEN_STATES = {"01": "ESTABLISHED", "03": "SYN_RECV", "08": "CLOSE_WAIT"}


@dataclass(frozen=True)
class Conn:
    remote: str
    remote_port: int
    state: str


def _addr(hex_addr: str) -> tuple[str, int]:
    """`0100007F:1F90` (or the 32-hex-digit IPv6 form) → ('127.0.0.1', 8080)."""
    host, port = hex_addr.split(":")
    raw = bytes.fromhex(host)
    # the kernel prints each 32-bit word in host (little-endian) order
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    ip = ipaddress.ip_address(words)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return str(ip), int(port, 16)


def open_connections(proc_net_tcp: str, port: int) -> list[Conn]:
    """Connections to local `port` that may still carry a request, loopback peers left out.

    `proc_net_tcp` is the text of /proc/net/tcp (and tcp6) of the instance's namespace; the
    loopback peers are the container's own health checks, which never reach the gateway.
    """
    out = []
    for line in proc_net_tcp.splitlines():
        fields = line.split()
        if len(fields) < 4 or not fields[0].endswith(":"):
            continue
        _, local_port = _addr(fields[1])
        remote, remote_port = _addr(fields[2])
        state = OPEN_STATES.get(fields[3])
        if local_port != port or state is None or ipaddress.ip_address(remote).is_loopback:
            continue
        out.append(Conn(remote, remote_port, state))
    return out


def read_connections(pid: int, port: int) -> list[Conn]:
    """Open connections to `port` in the network namespace of process `pid` (read on this host)."""
    text = ""
    for name in ("tcp", "tcp6"):
        path = Path(f"/proc/{pid}/net/{name}")
        try:
            text += path.read_text()
        except FileNotFoundError:
            continue
        except OSError as err:
            raise RunbookError(f"cannot read {path}: {err}") from None
    return open_connections(text, port)


def unavailable_reason() -> str | None:
    """Why the gate cannot work on this machine, or None when it can."""
    return netns.unavailable_reason("the drain gate")


def _rule(port: int) -> list[str]:
    return ["-p", "tcp", "--dport", str(port), "--syn", "!", "-i", "lo", "-j", "REJECT", "--reject-with", "tcp-reset"]


def is_closed(pid: int, port: int) -> bool:
    return netns.iptables(pid, "-C", "INPUT", *_rule(port)).returncode == 0


def close(pid: int, port: int) -> None:
    """New connections to `port` of the namespace of `pid` are reset from now on (idempotent)."""
    if is_closed(pid, port):
        return
    done = netns.iptables(pid, "-I", "INPUT", "1", *_rule(port))
    if done.returncode != 0:
        raise RunbookError(f"could not close the drain gate (pid {pid}, port {port}): {done.stderr.strip()}")


def open_(pid: int, port: int) -> None:
    """Accept new connections again (rollback); a namespace that is gone has nothing to open."""
    if not Path(f"/proc/{pid}/ns/net").exists():
        return
    while is_closed(pid, port):
        done = netns.iptables(pid, "-D", "INPUT", *_rule(port))
        if done.returncode != 0:
            raise RunbookError(f"could not open the drain gate (pid {pid}, port {port}): {done.stderr.strip()}")
