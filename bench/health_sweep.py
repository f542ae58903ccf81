"""Health sweep vs seed 004's health_check.sh, measured in one run on the live stack.

Prints: the slowest single request among those the sweep sends (each health endpoint, each
inference server's `/slots`, the gateway's `/health`, Prometheus' targets), the sequential curl
loop (the seed's script, same health URLs, from the service table), and runbook.health's parallel
sweep, as times and ratios. Single requests and the sweep are timed the same way: on an HTTP
client set up before the clock starts, each request on a new connection. Goal: sweep <= 1.3 x the
slowest single request.   Usage: .venv/bin/python bench/health_sweep.py [--stack local] [--rounds 7]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import subprocess
import time

import httpx

from infra.spec import load_platform
from infra.spec.model import Platform, Role
from runbooks.health import sweep
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


async def slowest_single(requests: list[tuple[str, dict[str, str]]]) -> tuple[float, str]:
    times = []
    for url, headers in requests:
        async with httpx.AsyncClient() as client:  # a new connection, as in the sweep
            t0 = time.monotonic()
            await client.get(url, headers=headers, timeout=10)
            times.append((time.monotonic() - t0, url))
    return max(times)


async def one_sweep(platform: Platform) -> tuple[float, list[str]]:
    async with httpx.AsyncClient() as client:
        report = await sweep(platform, platform.enabled(), client=client)
    return report.elapsed_s, report.down_needed + report.down_other


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
    args = ap.parse_args()
    platform = load_platform(args.stack)
    requests = swept_requests(platform)
    health_urls = [health_url(platform, s) for s in platform.enabled() if s.publish]
    asyncio.run(one_sweep(platform))  # warm-up: imports and first connections
    singles, loops, sweeps, slowest_urls = [], [], [], []
    for _ in range(args.rounds):
        single, url = asyncio.run(slowest_single(requests))
        singles.append(single)
        slowest_urls.append(url)
        loops.append(curl_loop(health_urls))
        elapsed, down = asyncio.run(one_sweep(platform))
        sweeps.append(elapsed)
        if down:
            raise SystemExit(f"not all services are up ({', '.join(down)}): the figures would mean nothing")
    slow, loop, swp = (statistics.median(v) for v in (singles, loops, sweeps))
    print(f"stack {args.stack}: {len(health_urls)} health endpoints, {len(requests)} requests per sweep,")
    print(f"median of {args.rounds} rounds; slowest request most often {statistics.mode(slowest_urls)}")
    print(f"slowest single request       {slow * 1000:8.1f} ms")
    print(f"sequential curl loop (seed)  {loop * 1000:8.1f} ms   {loop / slow:5.2f} x slowest (health endpoints only)")
    print(
        f"runbook.health sweep         {swp * 1000:8.1f} ms   {swp / slow:5.2f} x slowest (goal <= 1.3)"
        f"   {loop / swp:5.2f} x faster than the loop, with load/gateway/prometheus views"
    )


if __name__ == "__main__":
    main()
