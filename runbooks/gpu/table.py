"""The plan as a rich table: -ngl against the VRAM it needs and the budget."""

from __future__ import annotations

from rich.table import Table

from runbooks.gpu.planner import MIB, LayerPlan

MAX_ROWS = 24


def _shown(plan: LayerPlan) -> list[int]:
    """Every row for small models; for big ones a spread plus the rows around the decision."""
    n = len(plan.rows)
    if n <= MAX_ROWS:
        return list(range(n))
    step = -(-n // MAX_ROWS)
    keep = set(range(0, n, step)) | {n - 1}
    for layers in (plan.chosen, plan.current):
        k = plan.effective(layers)
        keep |= {k - 1, k, k + 1}
    return sorted(k for k in keep if 0 <= k < n)


def plan_table(plan: LayerPlan) -> Table:
    """Rows of -ngl with weights, KV cache, compute and total MiB; chosen and current marked."""
    budget = f"{plan.budget_mib:.0f} MiB" if plan.budget_mib is not None else "unknown"
    table = Table(title=f"{plan.service}: GPU layers against VRAM (budget {budget}, source {plan.source})")
    for col in ("-ngl", "blocks", "output", "weights MiB", "KV MiB", "compute MiB", "total MiB", "fits", ""):
        table.add_column(col, justify="right" if "MiB" in col or col in ("-ngl", "blocks") else "left")
    chosen, current = plan.effective(plan.chosen), plan.effective(plan.current)
    for k in _shown(plan):
        r = plan.rows[k]
        mark = " ".join(m for m, hit in (("← chosen", k == chosen), ("← current", k == current)) if hit)
        table.add_row(
            str(r.n_gpu_layers),
            str(r.blocks_on_gpu),
            "gpu" if r.output_on_gpu else "cpu",
            f"{r.weights / MIB:.0f}",
            f"{r.kv / MIB:.0f}",
            f"{r.compute / MIB:.0f}",
            f"{r.total / MIB:.0f}",
            ("yes" if r.fits else "no") if plan.budget_mib is not None else "-",
            mark,
            style="bold" if k == chosen else None,
        )
    return table
