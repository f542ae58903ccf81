"""Seed 004's `docker compose restart inference-chat` vs `runbook.reload`, under the same load.

Both on the live stack in one run, each under 10 req/s of the `chat` group through the gateway:
failed requests, requests served by the failover secondary, and seconds without the chat model
(from the first request the primary did not answer to the end of the last one).
Usage: .venv/bin/python bench/reload.py [--stack local] [--rate 10]
"""

from __future__ import annotations

import argparse
import json
import time

from infra.live import compose
from infra.spec import load_platform
from runbooks.framework import Options, execute
from runbooks.framework.display import Display
from runbooks.probes import wait_healthy_sync
from runbooks.reload.measure import under_load
from runbooks.reload.runbook import build

SERVICE = "inference-chat"


def seed_restart(stack: str) -> dict:
    platform = load_platform(stack)
    compose_file = compose.export(platform)
    t0 = time.monotonic()
    done = compose.compose(compose_file, "restart", SERVICE, capture=True)
    if done.returncode:
        raise SystemExit(f"docker compose restart failed: {done.stderr[-500:]}")
    svc = platform.service(SERVICE)
    wait_healthy_sync(platform, svc, svc.health.ready_within_s)
    return {"command": f"docker compose restart {SERVICE}", "took_s": round(time.monotonic() - t0, 3)}


def runbook_reload(stack: str) -> dict:
    platform = load_platform(stack)
    options = Options(stack=stack, service=SERVICE, yes=True, extra={"set": [], "model": None})
    rec = execute(build(platform, options), options, platform, Display(quiet=True))
    if rec.exit_code:
        raise SystemExit(f"runbook.reload failed: {rec.error}")
    return {"command": f"invoke runbook.reload --service {SERVICE} --yes", "took_s": rec.duration_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stack", default="local")
    parser.add_argument("--rate", type=float, default=10.0)
    args = parser.parse_args()
    platform = load_platform(args.stack)
    rows = {}
    for name, fn in (("seed: compose restart", seed_restart), ("runbook.reload", runbook_reload)):
        figures = under_load(platform, lambda fn=fn: fn(args.stack), rate=args.rate, min_total_s=30)
        rows[name] = figures
        time.sleep(10)  # let the gateway's cooldown pass before the next run
    print(f"{'':24} {'requests':>9} {'failed':>7} {'secondary':>10} {'s w/o chat':>11} {'p99 before':>11} "
          f"{'p99 during':>11} {'took s':>7}")  # fmt: skip
    for name, f in rows.items():
        print(
            f"{name:24} {f['total']['requests']:>9} {f['failed']:>7} {f['not_primary']:>10} "
            f"{f['seconds_without_primary']:>11} {f['before']['p99_ms']!s:>11} {f['during']['p99_ms']!s:>11} "
            f"{f['result']['took_s']:>7}"
        )
    print(json.dumps({k: {x: y for x, y in v.items() if x != "result"} | v["result"] for k, v in rows.items()}))


if __name__ == "__main__":
    main()
