"""`runbooks.cli.launch("watch.state_runbook", ...)`: the read-only runbook.watch-state."""

from runbooks.watch.runbook import build_state as build

__all__ = ["build"]
