"""Stable issue keys `{category}:{host}:{target}:{condition}` (seed 000), and the issue they name.

The key never carries changing text (an error message, a percentage): seed 000's
`check:error:{error[:30]}` made a new key whenever a message changed, so debounce never reached
its threshold and the alert never fired. Changing text goes into `summary`, which is shown but
never compared.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

__all__ = ["CheckResult", "Issue", "check_error", "issue_key", "part"]

_UNSAFE = re.compile(r"[:\s]+")


def part(text: str) -> str:
    """One key part: no `:` (the separator) and no whitespace, never empty."""
    return _UNSAFE.sub("_", str(text).strip()) or "-"


def issue_key(category: str, host: str, target: str, condition: str) -> str:
    return ":".join(part(p) for p in (category, host, target, condition))


@dataclass(frozen=True)
class Issue:
    """Something wrong now. `summary` is for people and may change; the key must not."""

    category: str
    host: str
    target: str
    condition: str
    summary: str
    service: str | None = None
    role: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return issue_key(self.category, self.host, self.target, self.condition)

    @property
    def labels(self) -> dict[str, str]:
        """What mute-window matchers select on (Alertmanager-style label names)."""
        out = {"category": self.category, "host": self.host, "target": self.target, "condition": self.condition}
        if self.service:
            out["service"] = self.service
        if self.role:
            out["role"] = self.role
        return out


@dataclass(frozen=True)
class CheckResult:
    """One check's verdict. `ran` False: it could not look, so the issues it owns are held
    (neither failing nor recovered) and one `check:…:error` issue says why."""

    check: str
    ran: bool
    issues: tuple[Issue, ...] = ()
    elapsed_s: float = 0.0
    error: str | None = None


def check_error(check: str, host: str, error: str, elapsed_s: float = 0.0) -> CheckResult:
    """A check that could not run: one issue with a key that stays the same whatever the error says."""
    issue = Issue("check", host, check, "error", f"check {check} could not run: {error}"[:500])
    return CheckResult(check, False, (issue,), elapsed_s, error)
