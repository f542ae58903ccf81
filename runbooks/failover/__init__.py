"""runbook.failover-test: fault a gateway primary under load; the gateway must fail over and back.

`runbook.py` builds it, `tasks.py` is its invoke task."""
