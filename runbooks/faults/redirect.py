"""The netfilter REDIRECT that puts the fault proxy in front of a service, in the service's own
network namespace: new TCP connections to the service port from outside the container go to
the proxy's port; loopback (the container's own health check, and the proxy's upstream) does not.

Connections already open are left alone (NAT applies when a connection starts), and the gateway
opens one per request (AIOHTTP_KEEPALIVE_TIMEOUT=0 in the service table), so the fault reaches
the next request. Both the runner and the proxy itself take the rule out; it also goes with the
container's namespace.
"""

from __future__ import annotations

from pathlib import Path

from runbooks.targets import netns

__all__ = ["install", "is_installed", "remove"]


def _rule(port: int, to_port: int) -> list[str]:
    return ["-p", "tcp", "--dport", str(port), "!", "-i", "lo", "-j", "REDIRECT", "--to-ports", str(to_port)]


def is_installed(pid: int | None, port: int, to_port: int) -> bool:
    return netns.iptables(pid, "-t", "nat", "-C", "PREROUTING", *_rule(port, to_port)).returncode == 0


def install(pid: int | None, port: int, to_port: int) -> None:
    """Send outside traffic for `port` to `to_port` (idempotent); raises OSError with iptables' words."""
    if is_installed(pid, port, to_port):
        return
    done = netns.iptables(pid, "-t", "nat", "-I", "PREROUTING", "1", *_rule(port, to_port))
    if done.returncode != 0:
        raise OSError(f"could not redirect port {port} to {to_port}: {done.stderr.strip()}")


def remove(pid: int | None, port: int, to_port: int) -> bool:
    """Take every copy of the rule out; False when the namespace is gone (nothing to remove)."""
    if pid is not None and not Path(f"/proc/{pid}/ns/net").exists():
        return False
    while is_installed(pid, port, to_port):
        done = netns.iptables(pid, "-t", "nat", "-D", "PREROUTING", *_rule(port, to_port))
        if done.returncode != 0:
            raise OSError(f"could not remove the redirect of port {port}: {done.stderr.strip()}")
    return True
