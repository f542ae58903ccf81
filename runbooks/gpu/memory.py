"""GPU memory readings from nvidia-smi CSV or DCGM metrics, and the GPUMemoryHigh test.

GPUMemoryHigh fires on used / (used + free) above the threshold (0.9 by default). Seed 003
writes the rule as `DCGM_FI_DEV_FB_USED / DCGM_FI_DEV_FB_FREE > 0.9`, which is used/free: it
fires at 47 % use. The ratio here is the one the alert means.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from runbooks.gpu.errors import MemoryReadingError

DCGM_USED = "DCGM_FI_DEV_FB_USED"  # MiB (dcgm-exporter default counters)
DCGM_FREE = "DCGM_FI_DEV_FB_FREE"  # MiB
# One instant query that returns both series; pass its JSON to `parse_dcgm`.
DCGM_QUERY = f'{{__name__=~"{DCGM_USED}|{DCGM_FREE}"}}'
# The query that yields the CSV `parse_nvidia_smi_csv` reads best (seed 004 queries used,total).
NVIDIA_SMI_ARGS = ("--query-gpu=index,memory.used,memory.free,memory.total", "--format=csv")


@dataclass(frozen=True)
class GpuMemory:
    """Frame-buffer memory of one GPU, in MiB."""

    gpu: str
    used_mib: float
    free_mib: float

    @property
    def ratio(self) -> float:
        """used / (used + free): the share of VRAM in use."""
        total = self.used_mib + self.free_mib
        return self.used_mib / total if total > 0 else 0.0


def memory_high(readings: list[GpuMemory], threshold: float = 0.9) -> list[GpuMemory]:
    """The GPUs whose memory use is above `threshold` (GPUMemoryHigh)."""
    return [r for r in readings if r.ratio > threshold]


def _mib(cell: str, column: str, row: int) -> float:
    text = cell.strip().removesuffix("MiB").strip()
    try:
        return float(text)
    except ValueError:
        raise MemoryReadingError(f"nvidia-smi row {row}, {column}: {cell.strip()!r} is not a MiB figure") from None


def parse_nvidia_smi_csv(text: str, columns: tuple[str, ...] | None = None) -> list[GpuMemory]:
    """Readings from `nvidia-smi --query-gpu=... --format=csv[,noheader][,nounits]`.

    With a header (`memory.used [MiB], ...`) the columns are found by name; without one,
    pass `columns` in query order. Needs memory.used and memory.free or memory.total.
    """
    rows = [r for r in csv.reader(io.StringIO(text.strip())) if r]
    if not rows:
        raise MemoryReadingError("nvidia-smi printed nothing; is a GPU visible?")
    if columns is None:
        columns = tuple(c.strip().split(" ")[0] for c in rows[0])
        rows = rows[1:]
    if "memory.used" not in columns or not {"memory.free", "memory.total"} & set(columns):
        raise MemoryReadingError(
            f"nvidia-smi columns {list(columns)}: query memory.used and memory.free (or memory.total)"
        )
    out = []
    for n, row in enumerate(rows, start=1):
        if len(row) != len(columns):
            raise MemoryReadingError(f"nvidia-smi row {n} has {len(row)} cells for {len(columns)} columns")
        cells = dict(zip(columns, row, strict=True))
        used = _mib(cells["memory.used"], "memory.used", n)
        if "memory.free" in cells:
            free = _mib(cells["memory.free"], "memory.free", n)
        else:
            free = _mib(cells["memory.total"], "memory.total", n) - used
        gpu = cells.get("index", cells.get("uuid", str(n - 1))).strip()
        out.append(GpuMemory(gpu=gpu, used_mib=used, free_mib=free))
    if not out:
        raise MemoryReadingError("nvidia-smi printed a header but no GPU rows")
    return out


def _series(payload: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    if payload.get("status") != "success":
        raise MemoryReadingError(f"Prometheus answered status {payload.get('status')!r}: {payload.get('error', '')}")
    data = payload.get("data") or {}
    if data.get("resultType") != "vector":
        raise MemoryReadingError(f"expected an instant vector, got {data.get('resultType')!r}; use /api/v1/query")
    return list(data.get("result") or [])


def _gpu_key(labels: Mapping[str, str]) -> str:
    host = labels.get("Hostname") or labels.get("instance") or ""
    gpu = labels.get("gpu") or labels.get("UUID") or "?"
    return f"{host}/gpu{gpu}" if host else f"gpu{gpu}"


def parse_dcgm(*payloads: Mapping[str, Any]) -> list[GpuMemory]:
    """Readings from Prometheus query results holding DCGM_FI_DEV_FB_USED and _FB_FREE series.

    Pass one result of `DCGM_QUERY`, or the two results of querying each metric; series are
    paired per GPU by their Hostname/instance and gpu labels.
    """
    used: dict[str, float] = {}
    free: dict[str, float] = {}
    for payload in payloads:
        for series in _series(payload):
            labels = series.get("metric") or {}
            name = labels.get("__name__")
            if name not in (DCGM_USED, DCGM_FREE):
                raise MemoryReadingError(
                    f"series {dict(labels)} is not {DCGM_USED} or {DCGM_FREE}; query the raw metrics ({DCGM_QUERY})"
                )
            value = float(series["value"][1])
            (used if name == DCGM_USED else free)[_gpu_key(labels)] = value
    if not used and not free:
        raise MemoryReadingError(f"no DCGM series in the answer; is dcgm-exporter scraped? ({DCGM_QUERY})")
    missing = sorted(set(used) ^ set(free))
    if missing:
        raise MemoryReadingError(f"GPUs {missing} have only one of {DCGM_USED} / {DCGM_FREE}")
    return [GpuMemory(gpu=k, used_mib=used[k], free_mib=free[k]) for k in sorted(used)]


def free_mib(readings: list[GpuMemory], gpu: str | None = None) -> float:
    """Free MiB of the GPU a service uses: `gpu` by name, or the only one there is."""
    if gpu is not None:
        for r in readings:
            if r.gpu == gpu or r.gpu.endswith(f"/gpu{gpu}") or r.gpu == f"gpu{gpu}":
                return r.free_mib
        raise MemoryReadingError(f"no reading for GPU {gpu!r}; have {[r.gpu for r in readings]}")
    if len(readings) != 1:
        raise MemoryReadingError(f"{len(readings)} GPUs read ({[r.gpu for r in readings]}): say which one")
    return readings[0].free_mib
