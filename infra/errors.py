"""The project's one exception root and the exit codes every command shares.

An expected failure is an `InferopsError`: the commands print its message (one or a few lines
that say what is wrong and how to fix it) and exit with its code, never with a traceback.
Anything else is a bug and keeps its traceback. `INFEROPS_DEBUG=1` shows the traceback of an
expected failure too.

    InferopsError                 exit 1 unless a subclass says otherwise
    ├── BadInput                  exit 1: options or stack config that cannot work; nothing changed
    │   └── ConfigError           (infra.spec.errors) a stack file's keys, values and what is allowed
    ├── Failed                    exit 1: the command ran and failed; what it changed was undone
    └── Missing                   exit 3: something it needs is missing or does not answer: the
                                  Docker engine, a tool not built, Go, a secret not set, a service

Exit codes, the same for every command family (invoke tasks, runbooks, scripts):

    0  it worked
    1  it failed, was refused, or the input was bad; whatever it changed was rolled back
    2  a rollback failed: the platform may be left changed, a human must look (runbooks only)
    3  something it needs is missing or unreachable; nothing was changed
"""

from __future__ import annotations

import os
from enum import IntEnum

__all__ = ["DEBUG_ENV", "BadInput", "ExitCode", "Failed", "InferopsError", "Missing", "debug_enabled"]

DEBUG_ENV = "INFEROPS_DEBUG"


class ExitCode(IntEnum):
    OK = 0
    FAILED = 1
    ROLLBACK_FAILED = 2
    MISSING = 3


class InferopsError(Exception):
    """An expected failure whose message tells the operator what is wrong and how to fix it."""

    exit_code: ExitCode = ExitCode.FAILED


class BadInput(InferopsError):
    """Options or stack config that cannot work; raised before anything is touched."""


class Failed(InferopsError):
    """The command ran and failed for a reason the message names."""


class Missing(InferopsError):
    """Something the command needs is missing or unreachable; the message says how to get it."""

    exit_code = ExitCode.MISSING


def debug_enabled() -> bool:
    return os.environ.get(DEBUG_ENV, "") not in ("", "0")
