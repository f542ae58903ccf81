"""Seed 004's `nvidia-smi` item and seed 003's GPU items (memory < 90 %, DCGM temperature and use).

nvidia-smi when the Docker host has it (run here for a local engine, over ssh for `ssh://` hosts),
else DCGM metrics from Prometheus when dcgm-exporter is scraped, else "no GPU on this host".
Parsing is runbook.gpu-layers' (`parse_nvidia_smi_csv`, `parse_dcgm`); thresholds are the alerts'.
"""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from infra.errors import Failed
from infra.spec.model import Platform
from runbooks.daily.disk import local_engine
from runbooks.daily.findings import Finding, Verdict, by_level
from runbooks.daily.prom import PromError, Prometheus, condition
from runbooks.gpu.errors import MemoryReadingError
from runbooks.gpu.memory import DCGM_QUERY, NVIDIA_SMI_ARGS, GpuMemory, _gpu_key, parse_dcgm, parse_nvidia_smi_csv

DCGM_SERVICE = "dcgm-exporter"
SMI_QUERY = (f"{NVIDIA_SMI_ARGS[0]},temperature.gpu,utilization.gpu", NVIDIA_SMI_ARGS[1])
SMI_TIMEOUT_S = 20.0

Runner = Callable[[list[str]], str]


class GpuReadError(Failed, RuntimeError):
    """nvidia-smi could not be run or printed nothing usable."""


def run_command(argv: list[str]) -> str:
    """Run `argv` with a timeout; its stdout, or GpuReadError with its stderr."""
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=SMI_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise GpuReadError(f"{argv[0]}: {err}") from None
    if proc.returncode != 0:
        raise GpuReadError(f"{' '.join(argv[:2])}… exited {proc.returncode}: {proc.stderr.strip()[:200]}")
    return proc.stdout


def nvidia_smi_command(platform: Platform) -> list[str] | None:
    """nvidia-smi on the Docker host: here for a local engine, over ssh for `ssh://`; None when not there."""
    if platform.target != "compose":
        return None
    if local_engine(platform):
        found = shutil.which("nvidia-smi")
        return [found, *SMI_QUERY] if found else None
    url = urlsplit(platform.docker_host or "")
    if url.scheme != "ssh" or not url.hostname:
        return None
    dest = f"{url.username}@{url.hostname}" if url.username else url.hostname
    port = ["-p", str(url.port)] if url.port else []
    return ["ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=5", *port, dest, "nvidia-smi", *SMI_QUERY]


@dataclass(frozen=True)
class GpuExtras:
    temp_c: float | None
    util_pct: float | None


def _number(cell: str) -> float | None:
    text = cell.strip().removesuffix("%").strip()
    try:
        return float(text)
    except ValueError:  # "[N/A]", "[Not Supported]"
        return None


def parse_smi_extras(text: str) -> dict[str, GpuExtras]:
    """temperature.gpu and utilization.gpu per GPU index from the same CSV (header row, as queried)."""
    rows = [r for r in csv.reader(io.StringIO(text.strip())) if r]
    if not rows:
        return {}
    columns = [c.strip().split(" ")[0] for c in rows[0]]
    out = {}
    for n, row in enumerate(rows[1:]):
        cells = dict(zip(columns, row, strict=False))
        gpu = cells.get("index", str(n)).strip()
        out[gpu] = GpuExtras(_number(cells.get("temperature.gpu", "")), _number(cells.get("utilization.gpu", "")))
    return out


def memory_finding(platform: Platform, m: GpuMemory, source: str) -> Finding:
    warn = 100 * platform.gpu_layers.memory_high_ratio
    pct = 100 * m.ratio
    verdict = by_level(pct, warn, platform.daily_check.gpu_memory_fail_pct)
    detail = f"{pct:.1f} % used ({m.used_mib:.0f} of {m.used_mib + m.free_mib:.0f} MiB, {source})"
    data = {"used_mib": m.used_mib, "free_mib": m.free_mib, "used_pct": round(pct, 2), "source": source}
    return Finding("gpu-memory", m.gpu, verdict, detail, data)


def temp_finding(platform: Platform, gpu: str, temp_c: float, source: str) -> Finding:
    verdict = by_level(temp_c, platform.daily_check.gpu_temp_warn_c, None)
    return Finding("gpu-temperature", gpu, verdict, f"{temp_c:.0f} °C ({source})", {"temp_c": temp_c})


def util_finding(platform: Platform, gpu: str, util_pct: float, source: str) -> Finding:
    low = platform.daily_check.gpu_util_low_pct
    verdict: Verdict = "warn" if util_pct < low else "ok"
    note = f", under {low:g} %: cost optimisation candidate" if verdict == "warn" else ""
    return Finding("gpu-utilisation", gpu, verdict, f"{util_pct:.0f} % busy ({source}){note}", {"util_pct": util_pct})


def from_nvidia_smi(platform: Platform, text: str) -> list[Finding]:
    source = "nvidia-smi"
    out = [memory_finding(platform, m, source) for m in parse_nvidia_smi_csv(text)]
    for gpu, x in parse_smi_extras(text).items():
        if x.temp_c is not None:
            out.append(temp_finding(platform, gpu, x.temp_c, source))
        if x.util_pct is not None:
            out.append(util_finding(platform, gpu, x.util_pct, source))
    return out


def from_dcgm(platform: Platform, prom: Prometheus) -> list[Finding]:
    """GPU memory, temperature and 1 h utilisation from dcgm-exporter, with the alerts' own queries."""
    source = "DCGM"
    out = [memory_finding(platform, m, source) for m in parse_dcgm(prom.raw(DCGM_QUERY))]
    for s in prom.query(condition("GPUTemperatureHigh").query):
        out.append(temp_finding(platform, _gpu_key(s.labels), s.value, source))
    for s in prom.query(condition("GPUUnderutilized").query):
        out.append(util_finding(platform, _gpu_key(s.labels), s.value, f"{source}, 1 h average"))
    return out


def dcgm_expected(platform: Platform) -> bool:
    svc = platform.services.get(DCGM_SERVICE)
    return platform.target == "eks" or (svc is not None and svc.enabled)


def gpu(platform: Platform, prom: Prometheus | None, run: Runner = run_command) -> list[Finding]:
    """nvidia-smi, else DCGM, else n/a "no GPU on this host" (a warning where the stack says it has GPUs)."""
    tried: list[str] = []
    cmd = nvidia_smi_command(platform)
    if cmd is not None:
        try:
            return from_nvidia_smi(platform, run(cmd))
        except (GpuReadError, MemoryReadingError) as err:
            tried.append(f"nvidia-smi: {err}")
    else:
        tried.append("nvidia-smi not found on the Docker host" if platform.target == "compose" else "")
    if prom is not None and dcgm_expected(platform):
        try:
            return from_dcgm(platform, prom)
        except (PromError, MemoryReadingError) as err:
            tried.append(f"DCGM: {err}")
    elif dcgm_expected(platform):
        tried.append("DCGM: no Prometheus to ask")
    else:
        tried.append(f"{DCGM_SERVICE} not in the stack")
    why = "; ".join(t for t in tried if t)
    if not platform.gpu_host:
        return [Finding("gpu-memory", "-", "n/a", f"no GPU on this host ({why})")]
    return [Finding("gpu-memory", "-", "warn", f"the stack has gpuHost: true but no GPU reading: {why}")]
