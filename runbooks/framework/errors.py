"""Errors a runbook reports to the operator as one clear line, never as a traceback.

They hang off the project's one root (infra.errors): `BadInput` is that module's, a failed step
raises `RunbookError`, and `Missing` (an engine, a service, a secret) makes the run exit 3.
"""

from __future__ import annotations

from infra.errors import BadInput, Failed, Missing

__all__ = ["BadInput", "Interrupted", "Missing", "RunbookError"]


class RunbookError(Failed):
    """A step failed for a reason the operator can act on (the message says what and where)."""


class Interrupted(BaseException):
    """A signal arrived; a BaseException so that `except Exception` in steps cannot swallow it."""

    def __init__(self, signame: str) -> None:
        super().__init__(f"interrupted by {signame}")
        self.signame = signame
