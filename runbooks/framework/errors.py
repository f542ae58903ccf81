"""Errors a runbook reports to the operator as one clear line, never as a traceback."""

from __future__ import annotations


class RunbookError(Exception):
    """A step failed for a reason the operator can act on (the message says what and where)."""


class BadInput(RunbookError):
    """Options or stack config that cannot work; raised before anything is touched."""


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived; a BaseException so that `except Exception` in steps cannot swallow it."""

    def __init__(self, signame: str) -> None:
        super().__init__(f"interrupted by {signame}")
        self.signame = signame
