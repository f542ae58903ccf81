"""What a diagnosis found: causes with their evidence, what to do, and the stack-config fix.

A `Fix` is a set of stack-config keys (dotted, below `inferops:`) and their new values, so what
the runbook shows is exactly what `--yes` writes (fixes.py applies it through StackConfigEdit).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["Diagnosis", "Finding", "Fix"]


@dataclass(frozen=True)
class Fix:
    """Seed 003's fix for one cause, as stack config: key → new value."""

    changes: tuple[tuple[str, Any], ...]
    seed: str  # which of the seed's fixes this is

    def keys(self) -> list[str]:
        return [k for k, _ in self.changes]


@dataclass(frozen=True)
class Finding:
    """One cause, where it was seen, the line that shows it, and what to do."""

    cause: str  # a stable id: insufficient-capacity, cuda-oom-weights, pvc-pending, ...
    subject: str  # "pod inference/inference-chat-0", "nodepool gpu", "nodeclaim gpu-x2k9c"
    summary: str
    evidence: tuple[str, ...] = ()
    advice: str = ""
    fix: Fix | None = None


@dataclass
class Diagnosis:
    runbook: str
    looked_at: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    @property
    def causes(self) -> list[str]:
        return list(dict.fromkeys(f.cause for f in self.findings))

    def changes(self) -> list[tuple[str, Any]]:
        """Every finding's fix merged, in finding order; a key set by an earlier fix is kept."""
        out: dict[str, Any] = {}
        for f in self.findings:
            for key, value in f.fix.changes if f.fix else ():
                out.setdefault(key, value)
        return list(out.items())

    def to_dict(self) -> dict[str, Any]:
        return {
            "runbook": self.runbook,
            "looked_at": self.looked_at,
            "causes": self.causes,
            "findings": [_lists(asdict(f)) for f in self.findings],
            "changes": [{"key": k, "new": list(v) if isinstance(v, tuple) else v} for k, v in self.changes()],
        }


def _lists(value: Any) -> Any:
    """Tuples as lists, so a record in memory reads as its JSON file does."""
    if isinstance(value, dict):
        return {k: _lists(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_lists(v) for v in value]
    return value
