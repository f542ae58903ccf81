"""runbook.weekly-check: seed 004's weekly maintenance list and seed 003's weekly items, with a report.

`runbook.py` builds it from the items in runbooks/weekly/, `tasks.py` is its invoke task."""
