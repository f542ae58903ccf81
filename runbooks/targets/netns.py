"""Commands in a container's network namespace, run from the Docker host (root, local engine).

The drain gate (runbooks/reload/netgate.py) and the fault proxy's redirect (runbooks/faults)
install netfilter rules there: they vanish with the container's namespace, and nothing inside
the image is needed (llama-server images have no iptables).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import Any

__all__ = ["container_pid", "in_netns", "iptables", "unavailable_reason"]


def container_pid(container: Any) -> int:
    """The PID (on the host) of a running container's first process: whose namespace to enter."""
    from runbooks.targets.base import TargetError

    container.reload()
    value = int(container.attrs["State"].get("Pid") or 0)
    if value <= 0:
        raise TargetError(f"container {container.name} is not running")
    return value


def in_netns(pid: int | None, argv: list[str]) -> list[str]:
    """`argv` run in the network namespace of process `pid` (None: the caller's own)."""
    return argv if pid is None else ["nsenter", "-t", str(pid), "-n", "--", *argv]


def iptables(pid: int | None, *args: str) -> subprocess.CompletedProcess[str]:
    """iptables (waiting for the xtables lock) in the namespace of `pid`."""
    return subprocess.run(in_netns(pid, ["iptables", "-w", "5", *args]), capture_output=True, text=True, timeout=15)


def unavailable_reason(what: str) -> str | None:
    """Why `what` cannot act in a container's namespace from here, or None when it can."""
    if os.geteuid() != 0:
        return f"{what} needs root on the Docker host (nsenter + iptables)"
    missing = [tool for tool in ("nsenter", "iptables") if shutil.which(tool) is None]
    if missing:
        return f"{what} needs {' and '.join(missing)} on the Docker host (apt-get install -y iptables util-linux)"
    return None
