"""`invoke runbook.watch --interval S`: cycles on a fixed cadence until stopped (the compose service).

Each cycle is the framework runbook (so each has a record and timings); the next starts S seconds
after the previous one started (a slow cycle does not push the schedule). With
`inferops:watch.metrics_port` the heartbeat is served at /metrics for Prometheus to scrape.
"""

from __future__ import annotations

import time

__all__ = ["run_loop"]


def run_loop(stack: str, interval: float | None, cycles: int, as_json: bool) -> None:
    from invoke.exceptions import Exit

    from infra.spec.stackconfig import load_platform
    from runbooks.cli import launch, options
    from runbooks.watch import heartbeat, store
    from runbooks.watch.runbook import build

    platform = load_platform(stack)
    every = interval or platform.watch.interval_s
    server = None
    if platform.watch.metrics_port:
        server = heartbeat.serve(store.state_dir(stack) / "heartbeat.prom", platform.watch.metrics_port)
    done = 0
    try:
        while True:
            started = time.monotonic()
            try:
                launch(build, options(stack, None, False, False, as_json, interval=every))
            except Exit as err:
                if err.code != 1:  # a failed delivery waits in the outbox; the loop goes on
                    raise
            done += 1
            if cycles and done >= cycles:
                return
            time.sleep(max(0.0, every - (time.monotonic() - started)))
    except KeyboardInterrupt:
        return
    finally:
        if server is not None:
            server.shutdown()
