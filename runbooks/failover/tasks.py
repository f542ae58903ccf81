"""invoke task `runbook.failover-test`."""

from __future__ import annotations

from invoke import Context

from infra.cli.guard import task
from runbooks.help import ACTING as COMMON


@task(
    name="failover-test",
    help={
        **COMMON,
        "service": "the primary to fault (default: the primary of --group)",
        "group": "gateway model group to test (default: the first route, e.g. chat)",
        "mode": "kill | stop | pause (a hung server) | reset | stall | slow-first-token | stream-cut | loading "
        "| flap | rate-limit (the last seven: a fault proxy in front of it, compose on this host)",
        "rate": "requests per second through the gateway (default 2)",
        "duration": "seconds of load in total (default 60)",
        "fault-after": "seconds of load before the fault (default 10)",
        "max-failed": "failed requests tolerated before the test fails (default 0)",
        "margin": "seconds beyond cooldown + health interval for traffic to return (default 10)",
        "max-tokens": "max_tokens of each test completion (default 8)",
        "hold": "seconds to keep the primary faulted once the secondary carries (a soak; default 0)",
        "stream-share": "share of requests sent with stream: true, each checked complete (default 0.25)",
    },
)
def failover_test(
    c: Context,
    stack: str = "local",
    service: str | None = None,
    dry_run: bool = False,
    yes: bool = False,
    json: bool = False,
    group: str | None = None,
    mode: str = "kill",
    rate: float = 2.0,
    duration: float = 60.0,
    fault_after: float = 10.0,
    max_failed: int = 0,
    margin: float = 10.0,
    max_tokens: int = 8,
    hold: float = 0.0,
    stream_share: float = 0.25,
) -> None:
    """Fault a gateway primary under load; measure failover, latency and the return to the primary."""
    from runbooks.cli import launch, options
    from runbooks.failover.runbook import build

    launch(
        build,
        options(
            stack,
            service,
            dry_run,
            yes,
            json,
            group=group,
            mode=mode,
            rate=rate,
            duration=duration,
            fault_after=fault_after,
            max_failed=max_failed,
            margin=margin,
            max_tokens=max_tokens,
            hold=hold,
            stream_share=stream_share,
        ),
    )
