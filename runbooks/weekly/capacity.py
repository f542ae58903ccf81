"""Seed 003's 용량 계획 (리소스 트렌드 → 스케일링 계획): GPU use and memory over the window, from DCGM.

Per GPU: average use over the window and its trend (second half against first half), and peak
memory use, judged against seed 003's normal band (use 40-80 %, memory < 90 %): below the band
the GPU is a cost to cut, above it (or memory headroom under 10 %) the next scale-up is due.
n/a with the reason where the stack has no dcgm-exporter or DCGM has no series.
"""

from __future__ import annotations

from infra.spec.model import Platform
from runbooks.daily.findings import Finding, Verdict
from runbooks.daily.gpu import DCGM_SERVICE, dcgm_expected
from runbooks.daily.prom import PromError, Prometheus
from runbooks.gpu.memory import _gpu_key
from runbooks.weekly.window import Window, duration

__all__ = ["MEMORY_RATIO", "UTIL", "capacity", "queries"]

UTIL = "DCGM_FI_DEV_GPU_UTIL"
MEMORY_RATIO = "DCGM_FI_DEV_FB_USED / (DCGM_FI_DEV_FB_USED + DCGM_FI_DEV_FB_FREE)"


def queries(w: Window) -> dict[str, str]:
    half = duration(w.seconds / 2)
    return {
        "avg": f"avg_over_time({UTIL}[{w.prom}])",
        "first": f"avg_over_time({UTIL}[{half}] offset {half})",
        "second": f"avg_over_time({UTIL}[{half}])",
        "peak_memory": f"max_over_time(({MEMORY_RATIO})[{w.prom}:{duration(w.step_s)}])",
    }


def _finding(platform: Platform, gpu: str, fig: dict[str, float], w: Window) -> Finding:
    cfg = platform.weekly_check
    avg, peak = fig.get("avg"), fig.get("peak_memory")
    notes: list[str] = []
    if avg is not None and avg < cfg.gpu_util_low_pct:
        notes.append(f"under {cfg.gpu_util_low_pct:g} %: fewer or smaller GPUs would do")
    if avg is not None and avg > cfg.gpu_util_high_pct:
        notes.append(f"over {cfg.gpu_util_high_pct:g} %: plan the next scale-up")
    if peak is not None and 100 * peak > cfg.gpu_memory_max_pct:
        notes.append(f"memory headroom under {100 - cfg.gpu_memory_max_pct:g} %")
    verdict: Verdict = "warn" if notes else "ok"
    trend = ""
    if fig.get("first") is not None and fig.get("second") is not None:
        trend = f", trend {fig['second'] - fig['first']:+.0f} points (2nd half vs 1st)"
    use = f"use {avg:.0f} % average{trend}" if avg is not None else "no use samples"
    mem = "no memory samples"
    if peak is not None:
        mem = f"peak memory {100 * peak:.0f} % ({100 - 100 * peak:.0f} % headroom)"
    detail = f"{use}; {mem} in {w.text}" + (f"; {'; '.join(notes)}" if notes else "")
    band = f"{cfg.gpu_util_low_pct:g}-{cfg.gpu_util_high_pct:g} %"
    normal = f"use {band}, memory < {cfg.gpu_memory_max_pct:g} % (seed 003)"
    how = f"avg_over_time({UTIL}[{w.text}]), halves compared; max_over_time of FB_USED/(USED+FREE) (DCGM)"
    return Finding("capacity", gpu, verdict, detail, {k: round(v, 4) for k, v in fig.items()}, how, normal)


def capacity(platform: Platform, prom: Prometheus | None, w: Window) -> list[Finding]:
    if not dcgm_expected(platform):
        return [Finding("capacity", "-", "n/a", f"no {DCGM_SERVICE} in the stack: no GPU series to plan from")]
    if prom is None:
        return [Finding("capacity", "-", "n/a", "no Prometheus for this stack")]
    figures: dict[str, dict[str, float]] = {}
    try:
        for name, query in queries(w).items():
            for s in prom.query(query):
                figures.setdefault(_gpu_key(s.labels), {})[name] = s.value
    except PromError as err:
        return [Finding("capacity", "-", "warn", str(err))]
    if not figures:
        return [Finding("capacity", "-", "n/a", f"{DCGM_SERVICE} is in the stack but DCGM has no series in {w.text}")]
    return [_finding(platform, gpu, fig, w) for gpu, fig in sorted(figures.items())]
