"""Health sweep vs seed 004's health_check.sh, measured in one run on the live stack.

Prints: the slowest single request among those the sweep sends (each health endpoint, each
inference server's `/slots`, the gateway's `/health`, Prometheus' targets), the sequential curl
loop (the seed's script, same health URLs, from the service table), and runbook.health's parallel
sweep, as times and ratios. Single requests and the sweep are timed the same way: on an HTTP
client set up before the clock starts, each request on a new connection; each figure is a median
over the rounds. Also printed: the sum of the single requests, the work a sweep asks of the
machine, which bounds a parallel sweep from below when the client and the servers share few
cores; and the same sweep and singles from a lean client (asyncio streams, HTTP/1.0, no httpx),
which separates the client's cost from the servers' (over loopback only). Goal: sweep <= 1.3 x
the slowest single request.
Usage: .venv/bin/python bench/health_sweep.py [--stack local] [--rounds 7] [--rtt-ms 20]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import time
from urllib.parse import urlsplit

import httpx

from infra.spec import load_platform
from infra.spec.model import Platform, Role
from runbooks.health.runbook import sweep
from runbooks.probes import gateway_headers, health_url


def swept_requests(platform: Platform) -> list[tuple[str, dict[str, str]]]:
    """Every GET the sweep sends, with its headers."""
    base = f"http://{platform.access_host}"
    out: list[tuple[str, dict[str, str]]] = []
    for svc in platform.enabled():
        if not svc.publish:
            continue
        out.append((health_url(platform, svc), {}))
        if svc.llama is not None and not svc.llama.embeddings:
            out.append((f"{base}:{svc.published_port}/slots", {}))
        if svc.role is Role.GATEWAY:
            out.append((f"{base}:{svc.published_port}/health", gateway_headers(platform.stack)))
        if svc.name == "prometheus":
            out.append((f"{base}:{svc.published_port}/api/v1/targets?state=active", {}))
    return out


async def single_times(requests: list[tuple[str, dict[str, str]]]) -> dict[str, float]:
    """Each request alone, one after another, each on a new client set up before its clock starts."""
    times = {}
    for url, headers in requests:
        async with httpx.AsyncClient() as client:
            t0 = time.monotonic()
            await client.get(url, headers=headers, timeout=10)
            times[url] = time.monotonic() - t0
    return times


async def one_sweep(platform: Platform) -> tuple[float, list[str]]:
    async with httpx.AsyncClient() as client:
        report = await sweep(platform, platform.enabled(), client=client)
    return report.elapsed_s, report.down_needed + report.down_other


async def lean_get(url: str, headers: dict[str, str]) -> float:
    """One GET on a bare asyncio stream. Written by hand on purpose: it is the measuring stick for
    what any HTTP client adds, so it must add next to nothing itself."""
    u = urlsplit(url)
    t0 = time.monotonic()
    reader, writer = await asyncio.open_connection(u.hostname, u.port)
    lines = [f"GET {u.path}{'?' + u.query if u.query else ''} HTTP/1.0", f"Host: {u.netloc}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    await reader.read()  # HTTP/1.0: the server closes after the answer
    writer.close()
    return time.monotonic() - t0


async def lean_round(requests: list[tuple[str, dict[str, str]]]) -> tuple[float, dict[str, float]]:
    """(the sweep's requests all at once, each alone) from the lean client."""
    t0 = time.monotonic()
    await asyncio.gather(*(lean_get(url, headers) for url, headers in requests))
    together = time.monotonic() - t0
    return together, {url: await lean_get(url, headers) for url, headers in requests}


def curl_loop(urls: list[str]) -> float:
    """The seed's loop: one curl process per endpoint, one after another."""
    curl = shutil.which("curl")
    t0 = time.monotonic()
    for url in urls:
        if curl:
            subprocess.run([curl, "-fsS", "-o", "/dev/null", url], check=False)
        else:
            httpx.get(url, timeout=10)
    return time.monotonic() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stack", default="local", help="stack name")
    ap.add_argument("--rounds", type=int, default=7, help="repetitions (medians are printed)")
    ap.add_argument("--rtt-ms", type=int, default=0, help="reach every service through Toxiproxy adding this "
                    "round-trip latency (a remote host); 0: straight over loopback")  # fmt: skip
    args = ap.parse_args()
    if not args.rtt_ms:
        run(load_platform(args.stack), args)
        return
    from latency import delayed, toxiproxy  # bench/latency.py, beside this script

    with toxiproxy() as api:
        run(delayed(api, load_platform(args.stack), args.rtt_ms), args)


def run(platform: Platform, args: argparse.Namespace) -> None:
    requests = swept_requests(platform)
    health_urls = [health_url(platform, s) for s in platform.enabled() if s.publish]
    asyncio.run(one_sweep(platform))  # warm-up: imports and first connections
    singles: dict[str, list[float]] = {url: [] for url, _ in requests}
    loops, sweeps, lean_sweeps = [], [], []
    lean_singles: dict[str, list[float]] = {url: [] for url, _ in requests}
    for _ in range(args.rounds):
        for url, took in asyncio.run(single_times(requests)).items():
            singles[url].append(took)
        loops.append(curl_loop(health_urls))
        elapsed, down = asyncio.run(one_sweep(platform))
        sweeps.append(elapsed)
        if down:
            raise SystemExit(f"not all services are up ({', '.join(down)}): the figures would mean nothing")
        if not args.rtt_ms:
            together, alone = asyncio.run(lean_round(requests))
            lean_sweeps.append(together)
            for url, took in alone.items():
                lean_singles[url].append(took)
    typical = {url: statistics.median(v) for url, v in singles.items()}
    slowest_url = max(typical, key=typical.__getitem__)
    slow, work = typical[slowest_url], sum(typical.values())
    loop, swp = statistics.median(loops), statistics.median(sweeps)
    cores = os.cpu_count() or 1
    where = f"through Toxiproxy adding {args.rtt_ms} ms per round trip" if args.rtt_ms else "over loopback"
    print(f"stack {args.stack} {where}: {len(health_urls)} health endpoints, {len(requests)} requests per sweep, "
          f"medians of {args.rounds} rounds, {cores} CPU cores shared by the client and every server")  # fmt: skip
    print(f"slowest single request       {slow * 1000:8.1f} ms   ({slowest_url})")
    if not args.rtt_ms:  # over loopback nothing waits on a network: the requests are CPU work
        print(f"all requests, one by one     {work * 1000:8.1f} ms   (the work a sweep asks for; / {cores} cores ="
              f" {work / cores * 1000:.1f} ms, a floor for any parallel sweep here)")  # fmt: skip
    print(f"sequential curl loop (seed)  {loop * 1000:8.1f} ms   {loop / slow:5.2f} x slowest (health endpoints only)")
    print(
        f"runbook.health sweep         {swp * 1000:8.1f} ms   {swp / slow:5.2f} x slowest (goal <= 1.3)"
        f"   {loop / swp:5.2f} x faster than the loop, with load/gateway/prometheus views"
    )
    if lean_sweeps:  # the client's share: how far the same requests get with a client that costs ~nothing
        lean_slow = max(statistics.median(v) for v in lean_singles.values())
        lean = statistics.median(lean_sweeps)
        print(f"lean client: slowest single {lean_slow * 1000:.1f} ms, all at once {lean * 1000:.1f} ms = "
              f"{lean / lean_slow:.2f} x (what the servers allow on these cores, whatever the client)")  # fmt: skip


if __name__ == "__main__":
    main()
