"""The runbook framework: steps, dry-run, `--yes`, rollbacks, run records, exit codes."""

from runbooks.framework.errors import BadInput, Interrupted, RunbookError
from runbooks.framework.runner import ExitCode, Run, Undo, execute
from runbooks.framework.step import Options, Runbook, Step

__all__ = [
    "BadInput",
    "ExitCode",
    "Interrupted",
    "Options",
    "Run",
    "Runbook",
    "RunbookError",
    "Step",
    "Undo",
    "execute",
]
