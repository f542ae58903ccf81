"""Put the fault proxy in front of one service of a compose stack on this Docker host, and take it out.

The proxy runs on this host inside the service container's network namespace (`nsenter -n`),
and a REDIRECT there sends it the service port's outside traffic. The container itself is not
touched: its own health check (loopback) still passes, as a real backend's often does while it
fails its clients. Needs root and a local engine, like the reload's drain gate.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from infra.spec.model import Platform
from runbooks.faults import redirect
from runbooks.faults.modes import Fault
from runbooks.framework.errors import RunbookError
from runbooks.targets import netns
from runbooks.targets.base import TargetError

__all__ = ["PROXY_PORT", "Injection", "inject", "refusal", "remove", "remove_durable"]

PROXY_PORT = 39999  # in the service's own namespace, where nothing else listens
ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Injection:
    service: str
    pid: int  # the container's PID 1: names its network namespace
    port: int
    proxy_pid: int
    stats: Path
    proc: subprocess.Popen[str] | None = field(default=None, compare=False, repr=False)

    def durable(self) -> dict[str, object]:
        """What the guard needs to take the fault out without this process."""
        return {"service": self.service, "port": self.port, "to_port": PROXY_PORT, "proxy_pid": self.proxy_pid}


def refusal(platform: Platform) -> str | None:
    """Why the proxy cannot be put in front of a service of `platform` from here, or None."""
    if platform.target != "compose":
        return "proxy fault modes run on the compose target (on EKS, fault the pod: --mode kill or pause)"
    if platform.docker_host:
        return f"proxy fault modes need the Docker engine on this host, not {platform.docker_host}"
    return netns.unavailable_reason("the fault proxy")


def _container_pid(service: str) -> int:
    import docker

    return netns.container_pid(docker.from_env().containers.get(service))


def _wait_ready(proc: subprocess.Popen[str], timeout_s: float) -> None:
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout_s)
    line = proc.stdout.readline().strip() if ready else ""
    if line != "ready":
        proc.kill()
        err = proc.stderr.read() if proc.stderr is not None else ""
        raise RunbookError(f"the fault proxy did not start: {(err or line or 'no answer').strip()[-300:]}")


def inject(platform: Platform, service: str, fault: Fault, expire_after_s: float, stats: Path) -> Injection:
    """The proxy, then the redirect: from here on the service's clients meet `fault`."""
    reason = refusal(platform)
    if reason:
        raise RunbookError(reason)
    svc = platform.service(service)
    pid = _container_pid(service)
    argv = [
        sys.executable, "-m", "runbooks.faults.proxy",
        "--listen", f"0.0.0.0:{PROXY_PORT}", "--upstream", f"http://127.0.0.1:{svc.port}",
        *fault.argv(), "--expire-after", f"{expire_after_s:g}", "--redirect", f"{svc.port}:{PROXY_PORT}",
        "--watch-stdin", "--stats", str(stats),
    ]  # fmt: skip
    proc = subprocess.Popen(
        netns.in_netns(pid, argv),
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # the operator's Ctrl-C reaches the runner, which removes it in order
    )
    _wait_ready(proc, 30)
    injection = Injection(service, pid, svc.port, proc.pid, stats, proc)
    try:
        redirect.install(pid, svc.port, PROXY_PORT)
    except OSError as err:
        remove(injection)
        raise RunbookError(str(err)) from None
    return injection


def _is_proxy(pid: int) -> bool:
    try:
        return b"runbooks.faults.proxy" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def _end(proxy_pid: int) -> None:
    """SIGTERM the proxy (a PID that is no longer the proxy is left alone)."""
    if _is_proxy(proxy_pid):
        os.kill(proxy_pid, signal.SIGTERM)


def remove(injection: Injection) -> dict[str, int]:
    """The redirect out first (clients reach the service again), then the proxy; its counts."""
    redirect.remove(injection.pid, injection.port, PROXY_PORT)
    _end(injection.proxy_pid)
    if injection.proc is not None:
        try:
            injection.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            injection.proc.kill()
            injection.proc.wait()
    try:
        return dict(json.loads(injection.stats.read_text()))
    except (OSError, ValueError):
        return {}


def remove_durable(data: dict[str, object]) -> None:
    """The guard's and runbook.recover's way: by service name, the container's current PID."""
    import docker.errors

    try:
        pid = _container_pid(str(data["service"]))
    except (docker.errors.NotFound, TargetError):
        pid = None  # no container or not running: its namespace, and the redirect, are gone
    if pid is not None:
        redirect.remove(pid, int(str(data["port"])), int(str(data["to_port"])))
    _end(int(str(data["proxy_pid"])))
