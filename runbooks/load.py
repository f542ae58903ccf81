"""An open-loop load generator through the gateway that records who served every request.

Requests leave at a fixed rate whatever the answers do (a slow backend does not slow the
sender, as with real users); each sample keeps its send time, latency, status and the backend
that served it (`x-litellm-model-id` → service, infra/render/gateway.py `backend_of`), and
whether the gateway had to fall back to serve it (`x-litellm-attempted-fallbacks`: it tried a
deployment first that failed, i.e. one it had not cooled down). It runs in its own thread and
event loop, so runbook steps can act while it runs.

A share of the requests streams (`stream_share`). A streamed answer counts as served only when
it is complete: a chunk with a `finish_reason` and then `data: [DONE]`. A 200 whose stream
carries an error event or breaks off (the client's HTTP library raises) is a failure the client
can see; one whose stream ends in good order but short of that is a *silent truncation*, counted
apart: an answer cut in the middle and presented as a success is the worst thing a gateway can
do to a client.
"""

from __future__ import annotations

import asyncio
import json
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
SILENT = "silent truncation"  # how a sample's error starts when a stream ended short in good order


@dataclass(frozen=True)
class Sample:
    sent_s: float  # seconds since the generator started
    latency_s: float
    ok: bool
    status: int | None
    backend: str | None
    error: str | None = None
    stream: bool = False
    fallbacks: int | None = None  # x-litellm-attempted-fallbacks of an answer (None: not said)


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
        "streamed": sum(s.stream for s in samples),
        "silent_truncations": sum(1 for s in samples if (s.error or "").startswith(SILENT)),
        "fell_back": sum(1 for s in samples if (s.fallbacks or 0) > 0),
    }


def fallbacks_of(resp: httpx.Response) -> int | None:
    """LiteLLM's `x-litellm-attempted-fallbacks` (absent on its error answers): >= 1 when the
    deployment it tried first failed, so a cooled-down primary is never tried and shows 0."""
    value = resp.headers.get("x-litellm-attempted-fallbacks")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


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
        stream_share: float = 0.0,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        if not 0 <= stream_share <= 1:
            raise ValueError("stream_share must be between 0 and 1")
        self.stream_share = stream_share
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

    def wait_answered(self, count: int, timeout_s: float = 60) -> None:
        """Until `count` requests have been answered (or have failed); TimeoutError past `timeout_s`."""
        deadline = time.monotonic() + timeout_s
        while len(self.snapshot()) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(self.snapshot())} of {count} requests answered after {timeout_s:g} s")
            time.sleep(0.02)

    def snapshot(self, since_s: float = 0.0) -> list[Sample]:
        with self._lock:
            return [s for s in self.samples if s.sent_s >= since_s]

    def streams(self, i: int) -> bool:
        """Whether request `i` streams: spread evenly, `stream_share` of them."""
        return math.floor((i + 1) * self.stream_share) > math.floor(i * self.stream_share)

    async def _one(self, client: httpx.AsyncClient, sem: asyncio.Semaphore, stream: bool) -> None:
        async with sem:
            sent = self.now()
            t0 = time.monotonic()
            try:
                if stream:
                    status, backend, error, fallbacks = await self._streamed(client)
                else:
                    resp = await client.post(self.url, json=self.payload, headers=self.headers, timeout=self.timeout_s)
                    status, fallbacks = resp.status_code, fallbacks_of(resp)
                    backend = self.backend_of(resp) if status == 200 else None
                    error = None if status == 200 else resp.text[:200]
                sample = Sample(sent, time.monotonic() - t0, error is None, status, backend, error, stream, fallbacks)
            except httpx.HTTPError as err:
                error = f"{type(err).__name__}: {err}"[:200]
                sample = Sample(sent, time.monotonic() - t0, False, None, None, error, stream)
        with self._lock:
            self.samples.append(sample)

    async def _streamed(self, client: httpx.AsyncClient) -> tuple[int, str | None, str | None, int | None]:
        """(status, backend, error, fallbacks) of one streamed request; error None only for a complete answer."""
        payload = {**self.payload, "stream": True}
        async with client.stream("POST", self.url, json=payload, headers=self.headers, timeout=self.timeout_s) as resp:
            fallbacks = fallbacks_of(resp)
            if resp.status_code != 200:
                return resp.status_code, None, (await resp.aread()).decode(errors="replace")[:200], fallbacks
            backend = self.backend_of(resp)
            finished = done = False
            try:
                async for line in resp.aiter_lines():
                    if not line.startswith("data:"):
                        continue
                    data = line[5:].strip()
                    if data == "[DONE]":
                        done = True
                        continue
                    event = json.loads(data)
                    if "error" in event:
                        return 200, backend, f"error in the stream: {str(event['error'])[:150]}", fallbacks
                    finished = finished or any(c.get("finish_reason") for c in event.get("choices") or [])
            except (httpx.HTTPError, ValueError) as err:
                return 200, backend, f"stream broken: {type(err).__name__}: {err}"[:200], fallbacks
            if not (finished and done):
                cut = f"{SILENT}: the stream ended without {'[DONE]' if finished else 'a finish_reason'}"
                return 200, backend, cut, fallbacks
            return 200, backend, None, fallbacks

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
                task = asyncio.create_task(self._one(client, sem, self.streams(i)))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                i += 1
            if tasks:
                await asyncio.wait(tasks, timeout=self.timeout_s + 1)


def samples_as_dicts(samples: list[Sample]) -> list[dict[str, Any]]:
    return [asdict(s) for s in samples]
