"""Help texts every runbook task shares, in one place (a leaf: every tasks module may import it)."""

from __future__ import annotations

__all__ = ["ACTING", "COMMON", "DRY_RUN", "JSON", "STACK"]

STACK = "stack name: stacks/Pulumi.<stack>.yaml (default: local)"
JSON = "print the run record as JSON on stdout (human output stays on stderr)"
DRY_RUN = "print the plan, run only the read-only checks that lead it, change nothing"
COMMON = {"stack": STACK, "json": JSON}
# the options of a runbook that acts on services (health, restart, failover-test)
ACTING = {
    **COMMON,
    "service": "act on this service only (a name from the stack's service table)",
    "dry-run": DRY_RUN,
    "yes": "allow destructive steps (stop, kill, pause) without asking",
}
