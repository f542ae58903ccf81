"""Incident runbooks: `invoke runbook.<name>` (see runbooks/tasks.py and docs/runbooks/)."""
