"""Health sweep vs seed 004's health_check.sh, measured in one run on the live stack.

Prints: the slowest single endpoint, the sequential curl loop (the seed's script, same URLs, from
the service table), and runbook.health's parallel sweep, as times and ratios. Goal: sweep <= 1.3 x
the slowest single endpoint.   Usage: .venv/bin/python bench/health_sweep.py [--stack local] [--rounds 5]
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
from runbooks.health import sweep
from runbooks.probes import health_url


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stack", default="local", help="stack name")
    ap.add_argument("--rounds", type=int, default=5, help="repetitions (medians are printed)")
    args = ap.parse_args()
    platform = load_platform(args.stack)
    services = [s for s in platform.enabled() if s.publish]
    urls = [health_url(platform, s) for s in services]
    curl = shutil.which("curl")
    singles, loops, sweeps = [], [], []
    for _ in range(args.rounds):
        per = []
        for url in urls:
            t0 = time.monotonic()
            httpx.get(url, timeout=10)
            per.append(time.monotonic() - t0)
        singles.append(max(per))
        t0 = time.monotonic()
        for url in urls:  # the seed's loop: one curl process per endpoint, one after another
            if curl:
                subprocess.run([curl, "-fsS", "-o", "/dev/null", url], check=False)
            else:
                httpx.get(url, timeout=10)
        loops.append(time.monotonic() - t0)
        report = asyncio.run(sweep(platform, platform.enabled()))
        sweeps.append(report.elapsed_s)
        down = report.down_needed + report.down_other
        if down:
            raise SystemExit(f"not all services are up ({', '.join(down)}): the figures would mean nothing")
    slow, loop, swp = (statistics.median(v) for v in (singles, loops, sweeps))
    print(f"stack {args.stack}: {len(urls)} endpoints, median of {args.rounds} rounds")
    print(f"slowest single endpoint      {slow * 1000:8.1f} ms")
    print(f"sequential curl loop (seed)  {loop * 1000:8.1f} ms   {loop / slow:5.2f} x slowest")
    print(
        f"runbook.health sweep         {swp * 1000:8.1f} ms   {swp / slow:5.2f} x slowest (goal <= 1.3)"
        f"   {loop / swp:5.2f} x faster than the loop, with load/gateway/prometheus views"
    )


if __name__ == "__main__":
    main()
