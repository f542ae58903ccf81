"""GPU memory readings: nvidia-smi CSV and DCGM metrics from Prometheus' query API."""

from __future__ import annotations

import pytest

from runbooks.gpu import MemoryReadingError, free_mib, parse_dcgm, parse_nvidia_smi_csv
from runbooks.gpu.memory import memory_high

# nvidia-smi --query-gpu=index,memory.used,memory.free,memory.total --format=csv
SMI = """\
index, memory.used [MiB], memory.free [MiB], memory.total [MiB]
0, 76543 MiB, 4016 MiB, 81559 MiB
1, 1024 MiB, 80535 MiB, 81559 MiB
"""
# Seed 004's query: nvidia-smi --query-gpu=memory.used,memory.total --format=csv
SEED_SMI = "memory.used [MiB], memory.total [MiB]\n7400 MiB, 8192 MiB\n"


def test_nvidia_smi_with_header() -> None:
    readings = parse_nvidia_smi_csv(SMI)
    assert [(r.gpu, r.used_mib, r.free_mib) for r in readings] == [("0", 76543, 4016), ("1", 1024, 80535)]
    assert [r.gpu for r in memory_high(readings, 0.9)] == ["0"]


def test_seed_query_derives_free_from_total() -> None:
    (r,) = parse_nvidia_smi_csv(SEED_SMI)
    assert r.free_mib == 792 and r.ratio == pytest.approx(7400 / 8192)


def test_noheader_nounits_needs_the_column_order() -> None:
    text = "0, 5000, 3192\n"
    (r,) = parse_nvidia_smi_csv(text, columns=("index", "memory.used", "memory.free"))
    assert (r.used_mib, r.free_mib) == (5000, 3192)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "printed nothing"),
        ("index, memory.total [MiB]\n0, 8192 MiB\n", "query memory.used"),
        ("memory.used [MiB], memory.free [MiB]\n[N/A], 100 MiB\n", "not a MiB figure"),
        ("memory.used [MiB], memory.free [MiB]\n", "no GPU rows"),
    ],
)
def test_unreadable_nvidia_smi_output_is_a_named_error(text: str, message: str) -> None:
    with pytest.raises(MemoryReadingError, match=message):
        parse_nvidia_smi_csv(text)


def _series(name: str, gpu: str, value: str, host: str = "gpu-node-1") -> dict:
    # Labels as dcgm-exporter sets them, answer shape of GET /api/v1/query.
    return {
        "metric": {"__name__": name, "gpu": gpu, "UUID": f"GPU-{gpu}", "Hostname": host, "modelName": "NVIDIA H100"},
        "value": [1732530000.0, value],
    }


def _answer(*series: dict) -> dict:
    return {"status": "success", "data": {"resultType": "vector", "result": list(series)}}


def test_dcgm_one_query_pairs_used_and_free_per_gpu() -> None:
    answer = _answer(
        _series("DCGM_FI_DEV_FB_USED", "0", "72000"),
        _series("DCGM_FI_DEV_FB_FREE", "0", "7500"),
        _series("DCGM_FI_DEV_FB_USED", "1", "100"),
        _series("DCGM_FI_DEV_FB_FREE", "1", "79400"),
    )
    readings = parse_dcgm(answer)
    assert [(r.gpu, r.used_mib, r.free_mib) for r in readings] == [
        ("gpu-node-1/gpu0", 72000, 7500),
        ("gpu-node-1/gpu1", 100, 79400),
    ]
    assert free_mib(readings, "0") == 7500


def test_dcgm_two_queries() -> None:
    used = _answer(_series("DCGM_FI_DEV_FB_USED", "0", "500"))
    free = _answer(_series("DCGM_FI_DEV_FB_FREE", "0", "7500"))
    (r,) = parse_dcgm(used, free)
    assert r.ratio == pytest.approx(500 / 8000)


def test_ratio_is_used_over_total_not_the_seed_used_over_free() -> None:
    # Seed 003's rule DCGM_FI_DEV_FB_USED / DCGM_FI_DEV_FB_FREE > 0.9 fires here (1.0); half used is not high.
    (r,) = parse_dcgm(
        _answer(_series("DCGM_FI_DEV_FB_USED", "0", "40000"), _series("DCGM_FI_DEV_FB_FREE", "0", "40000"))
    )
    assert r.used_mib / r.free_mib > 0.9
    assert memory_high([r], 0.9) == []


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ({"status": "error", "error": "parse error"}, "status 'error'"),
        ({"status": "success", "data": {"resultType": "matrix", "result": []}}, "instant vector"),
        (_answer(), "no DCGM series"),
        (_answer(_series("DCGM_FI_DEV_FB_USED", "0", "1")), "only one of"),
        (_answer({"metric": {"gpu": "0"}, "value": [0, "0.97"]}), "query the raw metrics"),
    ],
)
def test_unreadable_dcgm_answers_are_named_errors(answer: dict, message: str) -> None:
    with pytest.raises(MemoryReadingError, match=message):
        parse_dcgm(answer)


def test_free_mib_needs_a_gpu_when_there_are_several() -> None:
    readings = parse_nvidia_smi_csv(SMI)
    with pytest.raises(MemoryReadingError, match="say which one"):
        free_mib(readings)
    assert free_mib(readings, "1") == 80535
