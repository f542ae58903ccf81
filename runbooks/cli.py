"""Glue between invoke tasks and runbooks: load the stack, validate input, execute, exit.

Bad input (unknown stack or service, impossible option values) is reported as one line naming
the option or config key, exit code 1, before any record is written or anything touched; the
exit codes are the project's (infra.errors.ExitCode).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from runbooks.framework.step import Options, Runbook

if TYPE_CHECKING:
    from infra.spec.model import Platform

Builder = Callable[["Platform", Options], Runbook]


def launch(build: Builder, options: Options) -> int:
    """Build the runbook for the stack with `build` and run it; raises invoke's Exit on failure."""
    from invoke.exceptions import Exit

    from infra.spec.stackconfig import load_platform
    from runbooks.framework import execute

    platform = load_platform(options.stack)
    if options.service is not None:
        platform.service(options.service)
    runbook = build(platform, options)
    record = execute(runbook, options, platform)
    if options.json:
        try:
            sys.stdout.write(json.dumps(record.to_dict(), indent=2, default=str) + "\n")
            sys.stdout.flush()
        except OSError:  # the terminal went away (SIGHUP): the record under runs/ has it all
            pass
    if record.exit_code:
        raise Exit(code=record.exit_code)
    return 0


def options(stack: str, service: str | None, dry_run: bool, yes: bool, as_json: bool, **extra: Any) -> Options:
    return Options(stack=stack, service=service, dry_run=dry_run, yes=yes, json=as_json, extra=extra)
