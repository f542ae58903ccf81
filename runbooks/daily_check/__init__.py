"""runbook.daily-check: seed 004's daily checklist and seed 003's daily checks, one table.

`runbook.py` builds it from the checks in runbooks/daily/, `tasks.py` is its invoke task."""
