"""The drain gate: /proc/net/tcp parsing, and the gate on a real container's namespace."""

from __future__ import annotations

import socket
import time
import uuid

import pytest

from runbooks.reload import netgate

# /proc/net/tcp of a llama-server container (port 8080 = 0x1F90) with the gateway (172.18.0.5)
# connected twice, one health check over loopback, a listener and a TIME_WAIT.
PROC_NET_TCP = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0
   1: 030012AC:1F90 050012AC:A2C4 01 00000000:00000000 02:000004C3 00000000     0        0 2 1 0 20 4 30 10 -1
   2: 030012AC:1F90 050012AC:A2D0 08 00000000:00000000 00:00000000 00000000     0        0 3 1 0 20 4 30 10 -1
   3: 0100007F:1F90 0100007F:D9E2 01 00000000:00000000 00:00000000 00000000     0        0 4 1 0 20 4 30 10 -1
   4: 030012AC:1F90 050012AC:A2B0 06 00000000:00000000 03:000016D0 00000000     0        0 0 3 0 0 0 0 0 0
   5: 030012AC:E3A2 050012AC:1F90 01 00000000:00000000 00:00000000 00000000     0        0 5 1 0 20 4 30 10 -1
"""
# /proc/net/tcp6 with an IPv4-mapped peer (::ffff:172.18.0.5) and an IPv6 loopback peer.
PROC_NET_TCP6 = """\
  sl  local_address                         remote_address                        st
   0: 0000000000000000FFFF0000030012AC:1F90 0000000000000000FFFF0000050012AC:A2E0 01 0
   1: 00000000000000000000000001000000:1F90 00000000000000000000000001000000:9C40 01 0
"""


def test_open_connections_keeps_gateway_peers_and_drops_loopback_listeners_and_time_wait() -> None:
    conns = netgate.open_connections(PROC_NET_TCP, 8080)
    assert conns == [
        netgate.Conn("172.18.0.5", 0xA2C4, "ESTABLISHED"),
        netgate.Conn("172.18.0.5", 0xA2D0, "CLOSE_WAIT"),
    ]
    assert netgate.open_connections(PROC_NET_TCP, 9090) == []


def test_open_connections_reads_ipv4_mapped_ipv6_and_skips_ipv6_loopback() -> None:
    assert netgate.open_connections(PROC_NET_TCP6, 8080) == [netgate.Conn("172.18.0.5", 0xA2E0, "ESTABLISHED")]


def _http_get(sock: socket.socket) -> bytes:
    sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
    return sock.recv(4096)


@pytest.mark.skipif(netgate.unavailable_reason() is not None, reason=str(netgate.unavailable_reason()))
def test_gate_resets_new_connections_while_open_ones_keep_being_served() -> None:
    from tests.unit.runbooks.dockerfix import docker_or_skip, ensure_image

    client = docker_or_skip()
    name = f"reloadtest-gate-{uuid.uuid4().hex[:6]}"
    net = client.networks.create(name)
    c = client.containers.run(
        ensure_image(client),
        ["sh", "-c", "mkdir -p /www && echo ok > /www/health && exec httpd -f -p 8080 -h /www"],
        name=name,
        network=name,
        detach=True,
    )
    try:
        c.reload()
        ip = c.attrs["NetworkSettings"]["Networks"][name]["IPAddress"]
        pid = int(c.attrs["State"]["Pid"])
        deadline = time.monotonic() + 10
        while True:
            try:
                held = socket.create_connection((ip, 8080), timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        netgate.close(pid, 8080)
        netgate.close(pid, 8080)  # idempotent
        assert netgate.is_closed(pid, 8080)
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((ip, 8080), timeout=2)
        assert len(netgate.read_connections(pid, 8080)) == 1  # counted while it is open
        assert b"200 OK" in _http_get(held)  # and still served (busybox httpd then closes it)
        held.close()
        deadline = time.monotonic() + 5
        while netgate.read_connections(pid, 8080) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert netgate.read_connections(pid, 8080) == []
        netgate.open_(pid, 8080)
        assert not netgate.is_closed(pid, 8080)
        with socket.create_connection((ip, 8080), timeout=2) as again:
            assert b"200 OK" in _http_get(again)
    finally:
        c.remove(force=True)
        net.remove()
