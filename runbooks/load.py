"""An open-loop load generator through the gateway that records who served every request.

Requests leave at a fixed rate whatever the answers do (a slow backend does not slow the
sender, as with real users); each sample keeps its send time, latency, status and the backend
that served it (`x-litellm-model-id` → service, infra/render/gateway.py `backend_of`). It runs
in its own thread and event loop, so runbook steps can act while it runs.
"""

from __future__ import annotations

import asyncio
import math
import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import httpx

MAX_IN_FLIGHT = 256


@dataclass(frozen=True)
class Sample:
    sent_s: float  # seconds since the generator started
    latency_s: float
    ok: bool
    status: int | None
    backend: str | None
    error: str | None = None


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1))
    return ordered[k]


def summarize(samples: list[Sample]) -> dict[str, Any]:
    lat = [s.latency_s for s in samples if s.ok]
    p50, p99 = percentile(lat, 50), percentile(lat, 99)
    return {
        "requests": len(samples),
        "failed": sum(not s.ok for s in samples),
        "p50_ms": round(p50 * 1000, 1) if p50 is not None else None,
        "p99_ms": round(p99 * 1000, 1) if p99 is not None else None,
        "mean_ms": round(statistics.fmean(lat) * 1000, 1) if lat else None,
        "by_backend": dict(sorted(Counter(str(s.backend) for s in samples).items())),
    }


class LoadGenerator:
    """`start()`, then read `samples` at any time; `stop()` waits for requests in flight."""

    def __init__(
        self,
        url: str,
        payload: dict[str, Any],
        rate: float,
        backend_of: Callable[[httpx.Response], str | None],
        headers: dict[str, str] | None = None,
        timeout_s: float = 60,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.url, self.payload, self.rate = url, payload, rate
        self.backend_of, self.headers, self.timeout_s = backend_of, headers or {}, timeout_s
        self.samples: list[Sample] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.t0 = 0.0

    def now(self) -> float:
        """Seconds since start, on the same clock as `Sample.sent_s`."""
        return time.monotonic() - self.t0

    def start(self) -> None:
        self.t0 = time.monotonic()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), name="load", daemon=True)
        self._thread.start()

    def stop(self, grace_s: float | None = None) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(grace_s if grace_s is not None else self.timeout_s + 5)

    def snapshot(self, since_s: float = 0.0) -> list[Sample]:
        with self._lock:
            return [s for s in self.samples if s.sent_s >= since_s]

    async def _one(self, client: httpx.AsyncClient, sem: asyncio.Semaphore) -> None:
        async with sem:
            sent = self.now()
            t0 = time.monotonic()
            try:
                resp = await client.post(self.url, json=self.payload, headers=self.headers, timeout=self.timeout_s)
                ok = resp.status_code == 200
                sample = Sample(
                    sent,
                    time.monotonic() - t0,
                    ok,
                    resp.status_code,
                    self.backend_of(resp) if ok else None,
                    None if ok else resp.text[:200],
                )
            except httpx.HTTPError as err:
                sample = Sample(sent, time.monotonic() - t0, False, None, None, f"{type(err).__name__}: {err}"[:200])
        with self._lock:
            self.samples.append(sample)

    async def _main(self) -> None:
        sem = asyncio.Semaphore(MAX_IN_FLIGHT)
        limits = httpx.Limits(max_connections=MAX_IN_FLIGHT, max_keepalive_connections=32)
        async with httpx.AsyncClient(limits=limits) as client:
            tasks: set[asyncio.Task[None]] = set()
            i = 0
            while not self._stop.is_set():
                due = self.t0 + i / self.rate
                delay = due - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(min(delay, 0.05))
                    continue
                task = asyncio.create_task(self._one(client, sem))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                i += 1
            if tasks:
                await asyncio.wait(tasks, timeout=self.timeout_s + 1)


def samples_as_dicts(samples: list[Sample]) -> list[dict[str, Any]]:
    return [asdict(s) for s in samples]
