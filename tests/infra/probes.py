"""Small readers of a container's /proc: its minimal images have neither ps nor ss."""

from __future__ import annotations

from typing import Any

LISTEN = "0A"  # TCP state code in /proc/net/tcp


def pid1_argv(container: Any) -> list[str]:
    """argv of the container's main process (the image entrypoint plus the service's command)."""
    raw = container.run("cat /proc/1/cmdline").stdout
    return [part for part in raw.split("\0") if part]


def listening_ports(container: Any) -> set[int]:
    """TCP ports something listens on inside the container (IPv4 and IPv6 tables)."""
    ports: set[int] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        result = container.run(f"cat {table}")
        for line in result.stdout.splitlines()[1:]:
            fields = line.split()
            if len(fields) > 3 and fields[3] == LISTEN:
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports
