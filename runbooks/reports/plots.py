"""Draw a report's plots as PNG bytes with matplotlib's Agg backend (no display, no GUI toolkit).

An empty plot is drawn too, saying "no samples in the window": a missing chart reads as a
broken report, a labelled empty one says what Prometheus had.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime

from runbooks.reports.model import Plot

__all__ = ["draw", "draw_all"]

WIDTH_IN, HEIGHT_IN, DPI = 7.5, 2.8, 100


def draw(plot: Plot) -> bytes:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt
    import numpy as np  # matplotlib's own array type: its stubs take datetimes in an array, not a list

    fig, ax = plt.subplots(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI)
    try:
        for line in plot.lines:
            if line.points:
                xs = [datetime.fromtimestamp(t, UTC) for t, _ in line.points]
                ax.plot(np.asarray(xs), [v for _, v in line.points], label=line.label, linewidth=1.4)
        if plot.limit is not None:
            ax.axhline(plot.limit, color="#c0392b", linestyle="--", linewidth=1, label=plot.limit_label or "limit")
        if plot.empty:
            ax.text(0.5, 0.5, "no samples in the window", ha="center", va="center", transform=ax.transAxes)
        ax.set_title(plot.title, fontsize=10, loc="left")
        ax.set_ylabel(plot.unit)
        ax.grid(True, alpha=0.3)
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%m-%d %H:%M", tz=UTC))
        ax.tick_params(labelsize=8)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7, loc="best")
        fig.autofmt_xdate()
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        return buf.getvalue()
    finally:
        plt.close(fig)


def draw_all(plots: list[Plot]) -> list[Plot]:
    """The plots with their PNG filled in."""
    from dataclasses import replace

    return [replace(p, png=draw(p)) for p in plots]
