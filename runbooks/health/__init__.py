"""runbook.health: every service's health, load, gateway and Prometheus views, in parallel.

`runbook.py` builds it, `tasks.py` is its invoke task."""
