"""The items of `runbook.weekly-check` (seed 004's 주간 유지보수 체크리스트, seed 003's 주간 점검 항목).

One module per item (window, slo, capacity, cost, logs, images, qdrant_verify); each returns
daily-check `Finding`s that say how the value was measured and the normal range it was judged
against; `runbooks/weekly_check/runbook.py` runs them as steps and writes the report.
"""

__all__: list[str] = []
