"""runbook.restart: the stack or one service and its dependents, in dependency order.

`runbook.py` builds it, `tasks.py` is its invoke task."""
