"""Operator tables at 80 columns (a laptop terminal, CI logs) and wide: nothing cut, no cell wrapped
over several lines, and the full table when there is room."""

from __future__ import annotations

from rich.console import Console

from infra.fitted_table import fitted

NOTE = "container paused; Prometheus: query failed (connection refused at http://127.0.0.1:9090)"
COLUMNS = ("service", "state", "http", "ms", "load", "gateway", "prometheus", "note")
ROWS = [
    ["inference-chat", "down", "", "2001.5", "", "unhealthy", "down", NOTE],
    ["embedding", "up", "200", "1.2"] + [""] * 4,
]


def _print(width: int) -> list[str]:
    console = Console(width=width, record=True, color_system=None)
    fitted(console, "health of stack 'local' (26 ms)", COLUMNS, ROWS, notes="note", no_wrap=("service",))
    return console.export_text().splitlines()


def test_at_80_columns_the_note_is_whole_on_its_own_line_and_rows_stay_one_line() -> None:
    lines = _print(80)
    assert all(len(line) <= 80 for line in lines)
    text = " ".join(line.strip() for line in lines)
    assert "inference-chat: container paused; Prometheus: query failed" in text
    assert "(connection refused at http://127.0.0.1:9090)" in text
    grid = [line for line in lines if line.startswith("│")]
    assert len(grid) == len(ROWS), grid  # one line per row: no cell wrapped
    assert not any("…" in line for line in lines)


def test_wide_terminal_keeps_the_note_column_in_the_table() -> None:
    lines = _print(200)
    header = next(line for line in lines if "service" in line and "prometheus" in line)
    assert "note" in header
    assert any("inference-chat" in line and NOTE in line for line in lines)


def test_a_long_cell_outside_the_notes_moves_below_too_when_the_grid_would_not_fit() -> None:
    error = 'down: Get "http://api-gateway:8000/metrics/": dial tcp 172.20.0.5:8000: connect: refused'
    rows = [["api-gateway", "up", "200", "3.1", "", "", error, ""], ["embedding", "up", "200", "1.2"] + [""] * 4]
    console = Console(width=80, record=True, color_system=None)
    fitted(console, "health", COLUMNS, rows, notes="note", no_wrap=("service",))
    lines = console.export_text().splitlines()
    header = next(line for line in lines if "service" in line)
    assert all(name in header for name in COLUMNS if name != "note"), header  # no column squeezed away
    assert f"api-gateway: prometheus: {error}" in " ".join(line.strip() for line in lines)
