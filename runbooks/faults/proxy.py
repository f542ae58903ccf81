"""The fault proxy: an HTTP/1.1 proxy that plays one failure mode (modes.py) in front of a backend.

inject.py starts it inside the backend's network namespace (`nsenter -n`) on a spare port that
a netfilter REDIRECT sends outside traffic to; it forwards to the backend over loopback. It is
written on aiohttp (server and client) rather than on Toxiproxy's TCP toxics because the faults
that matter to an LLM gateway are HTTP-level: a 503 while a model loads, a 429 with Retry-After,
a cut after N bytes of a streamed body, a reset once the request is read.

It ends by itself, taking its redirect with it, on SIGTERM or SIGINT, when its parent's pipe on
stdin closes (the runner died) and at --expire-after: a drill whose runner is killed leaves no
fault behind even before its guard acts.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
import socket
import struct
import sys
import threading
import time
from collections import Counter
from pathlib import Path

from aiohttp import ClientResponse, ClientSession, ClientTimeout, TCPConnector, web

from runbooks.faults import redirect
from runbooks.faults.modes import PROXY_MODES, Fault

# Headers that belong to one hop (RFC 9110 7.6.1), set again by each side of the proxy.
HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host", "te", "trailer", "upgrade"}
# llama-server's answer on every path while its model loads, /health and /v1/models included
# (captured from the local llama-server image: tests/unit/faults/llama_server_loading.json).
LOADING = {"error": {"message": "Loading model", "type": "unavailable_error", "code": 503}}
RATE_LIMITED = {"error": {"code": 429, "message": "Too many requests", "type": "rate_limit_error"}}


class FaultProxy:
    """The aiohttp application: every request is faulted or forwarded as the mode says."""

    def __init__(self, fault: Fault, upstream: str) -> None:
        self.fault, self.upstream = fault, upstream.rstrip("/")
        self.started = time.monotonic()
        self.counts: Counter[str] = Counter()
        self.session: ClientSession | None = None

    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 << 20)
        app.router.add_route("*", "/{tail:.*}", self.handle)
        app.on_startup.append(self._open)
        app.on_cleanup.append(self._close)
        return app

    async def _open(self, _app: web.Application) -> None:
        # one connection per request, as the gateway does: nothing pooled outlives the fault
        self.session = ClientSession(
            connector=TCPConnector(force_close=True), timeout=ClientTimeout(total=None), auto_decompress=False
        )

    async def _close(self, _app: web.Application) -> None:
        if self.session is not None:
            await self.session.close()

    def flapping_down(self) -> bool:
        return int((time.monotonic() - self.started) // self.fault.period_s) % 2 == 0

    async def handle(self, request: web.Request) -> web.StreamResponse:
        mode = self.fault.mode
        body = await request.read()
        if mode == "reset" or (mode == "flap" and self.flapping_down()):
            return self._reset(request)
        if mode == "stall":
            self.counts["stalled"] += 1
            await asyncio.Event().wait()  # until the client gives up or the proxy ends
        if mode == "loading":
            self.counts["loading"] += 1
            return web.json_response(LOADING, status=503)
        if mode == "rate-limit":
            self.counts["rate-limited"] += 1
            after = self.fault.retry_after_s
            return web.json_response(RATE_LIMITED, status=429, headers={"Retry-After": str(after)} if after else None)
        delay = self.fault.delay_s if mode == "slow-first-token" else 0.0
        cut = self.fault.cut_after if mode == "stream-cut" else None
        return await self._forward(request, body, delay, cut)

    @staticmethod
    def _streaming(resp: ClientResponse) -> bool:
        return resp.headers.get("Content-Type", "").startswith("text/event-stream")

    def _reset(self, request: web.Request) -> web.StreamResponse:
        """RST, not FIN: SO_LINGER 0 then abort, as a crashed server's kernel answers."""
        self.counts["reset"] += 1
        transport = request.transport
        sock = transport.get_extra_info("socket") if transport is not None else None
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        if transport is not None:
            transport.abort()
        return web.Response(status=502)  # never reaches the client: its connection is gone

    async def _forward(self, request: web.Request, body: bytes, delay_s: float, cut: int | None) -> web.StreamResponse:
        assert self.session is not None
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP}
        async with self.session.request(
            request.method, self.upstream + request.rel_url.path_qs, headers=headers, data=body
        ) as up:
            if delay_s:
                self.counts["delayed"] += 1
                await asyncio.sleep(delay_s)
            resp = web.StreamResponse(
                status=up.status, headers={k: v for k, v in up.headers.items() if k.lower() not in HOP}
            )
            await resp.prepare(request)
            if cut is not None and not self._streaming(up):
                cut = None  # stream-cut cuts streamed answers only: a plain one is served whole
            sent = 0
            async for chunk in up.content.iter_any():
                if cut is not None and sent + len(chunk) >= cut:
                    await resp.write(chunk[: cut - sent])
                    self.counts["cut"] += 1
                    if request.transport is not None:
                        request.transport.close()  # FIN in the middle of the body
                    return resp
                await resp.write(chunk)
                sent += len(chunk)
            self.counts["forwarded"] += 1
            await resp.write_eof()
            return resp


def _parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m runbooks.faults.proxy", description=__doc__.splitlines()[0])
    p.add_argument("--listen", required=True, help="HOST:PORT to listen on")
    p.add_argument("--upstream", required=True, help="the backend's URL, e.g. http://127.0.0.1:8001")
    p.add_argument("--mode", required=True, choices=sorted(PROXY_MODES))
    p.add_argument("--delay", type=float, default=Fault.delay_s)
    p.add_argument("--cut-after", type=int, default=Fault.cut_after)
    p.add_argument("--period", type=float, default=Fault.period_s)
    p.add_argument("--retry-after", type=int, default=Fault.retry_after_s)
    p.add_argument("--expire-after", type=float, default=None, help="end by itself after this many seconds")
    p.add_argument("--redirect", default=None, help="PORT:TO_PORT: the redirect to take out when ending")
    p.add_argument("--watch-stdin", action="store_true", help="end when stdin closes (the parent died)")
    p.add_argument("--stats", type=Path, default=None, help="write the counts here (JSON) when ending")
    return p.parse_args(argv)


async def _serve(args: argparse.Namespace) -> FaultProxy:
    fault = Fault(args.mode, args.delay, args.cut_after, args.period, args.retry_after)
    proxy = FaultProxy(fault, args.upstream)
    runner = web.AppRunner(proxy.app(), access_log=None, handler_cancellation=True, shutdown_timeout=1)
    await runner.setup()
    host, _, port = args.listen.rpartition(":")
    await web.TCPSite(runner, host or "0.0.0.0", int(port), shutdown_timeout=1).start()
    done = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        loop.add_signal_handler(sig, done.set)
    if args.watch_stdin:

        def parent_gone() -> None:
            sys.stdin.buffer.read()  # returns at EOF: the pipe's writer, our parent, is gone
            loop.call_soon_threadsafe(done.set)

        threading.Thread(target=parent_gone, daemon=True).start()
    print("ready", flush=True)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(done.wait(), args.expire_after)
    await runner.cleanup()
    return proxy


def main(argv: list[str] | None = None) -> int:
    args = _parse(sys.argv[1:] if argv is None else argv)
    logging.getLogger("aiohttp").setLevel(logging.CRITICAL)  # a reset connection is the point, not news
    try:
        proxy = asyncio.run(_serve(args))
    finally:
        if args.redirect:
            port, _, to_port = args.redirect.partition(":")
            redirect.remove(None, int(port), int(to_port))  # we run in the service's namespace
    if args.stats is not None:
        args.stats.write_text(json.dumps(dict(proxy.counts)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
