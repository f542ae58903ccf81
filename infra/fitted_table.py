"""Rich tables for operators that stay readable at 80 columns (and in CI logs). A leaf: the
invoke tasks, the live bring-up and the runbooks all print through it.

`fitted` prints a table whole when the console is wide enough for it. When it is not, the
free-text column (notes, details, summaries) leaves the grid and each non-empty note is printed
on its own line after it, keyed by the row's first cell: nothing is cut, no cell wraps over five
lines. `--json` output never goes through here.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

__all__ = ["CELL_MAX", "NOTE_LINES", "fitted"]

NOTE_LINES = 2  # a note that needs more lines than this in its column reads better on its own line
CELL_MAX = 24  # in a narrow grid, a longer cell moves below with the notes


def _table(columns: Sequence[str], rows: Sequence[Sequence[str]], no_wrap: Sequence[str]) -> Table:
    table = Table()
    for col in columns:
        table.add_column(col, no_wrap=col in no_wrap, overflow="fold")
    for row in rows:
        table.add_row(*row)
    return table


def _width(console: Console, table: Table) -> int:
    return Measurement.get(console, console.options.update_width(10_000), table).maximum


def _moved(columns: Sequence[str], row: Sequence[str], at: int, key: int) -> tuple[list[str], list[str]]:
    """A row for the narrow grid and its notes: the note, and every other long cell (a view's
    error, say) whose text moves below as `column: text`, leaving a mark in the grid."""
    cells, notes = [], [row[at]] if row[at] else []
    for i, cell in enumerate(row):
        if i == at:
            continue
        if i >= key and Text.from_markup(cell).cell_len > CELL_MAX:
            notes.append(f"{columns[i]}: {cell}")
            cell = "↓"
        cells.append(cell)
    return cells, notes


def fitted(
    console: Console,
    title: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[str]],
    notes: str,
    no_wrap: Sequence[str] = (),
    key: int = 1,
) -> None:
    """Print `rows` under `columns`. `notes` names the free-text column: it stays in the grid while
    every note fits in NOTE_LINES lines of the room left to it, else it moves under the table, each
    note keyed by the row's first `key` cells, with any other cell too long for a narrow grid."""
    console.print(f"[italic]{title}[/]", overflow="fold")  # above the table: a narrow one would wrap it
    at = list(columns).index(notes)
    names = [c for i, c in enumerate(columns) if i != at]
    rest = _table(names, [[c for i, c in enumerate(row) if i != at] for row in rows], (*no_wrap, *columns))
    room = console.width - _width(console, rest) - 3  # the column's border and padding
    longest = max((Text.from_markup(row[at]).cell_len for row in rows), default=0)
    if room > 0 and longest <= room * NOTE_LINES:
        console.print(_table(columns, rows, no_wrap))
        return
    fits = room + 3 >= 0  # the grid without the notes fits: only the notes move
    moved = [_moved(columns, row, at, len(columns) if fits else key) for row in rows]
    console.print(_table(names, [cells for cells, _ in moved], (*no_wrap, *columns)))
    for row, (_, row_notes) in zip(rows, moved, strict=True):
        for note in row_notes:
            console.print(f"  {' '.join(row[:key])}: {note}", overflow="fold")
