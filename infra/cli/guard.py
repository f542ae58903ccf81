"""The error policy of every invoke task, in one place.

`task` is invoke's `@task` with the body wrapped: an expected failure (`infra.errors.InferopsError`)
ends the command with its message and its exit code, never a traceback (`INFEROPS_DEBUG=1` shows
one). Option values of the wrong type (`--rate abc`) get the same treatment in the parser.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import invoke
from invoke.exceptions import Exit, ParseError
from invoke.parser.argument import Argument

from infra.errors import BadInput, InferopsError, debug_enabled

__all__ = ["guarded", "number", "task"]

F = TypeVar("F", bound=Callable[..., Any])
NOUNS: dict[Any, str] = {int: "a whole number", float: "a number"}


def guarded(body: F) -> F:
    """Turn the project's expected failures into invoke's Exit: message on stderr, the error's code."""

    @functools.wraps(body)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return body(*args, **kwargs)
        except InferopsError as err:
            if debug_enabled():
                raise
            raise Exit(f"error: {err}", code=int(err.exit_code)) from None

    return run  # type: ignore[return-value]


def task(*args: Any, **kwargs: Any) -> Any:
    """invoke's `@task` (same arguments), with `guarded` around the body."""
    if len(args) == 1 and callable(args[0]) and not kwargs:
        return invoke.task(guarded(args[0]))
    return lambda body: invoke.task(*args, **kwargs)(guarded(body))


def number(option: str, value: Any, kind: type = float) -> Any:
    """An option given as text (one whose default is None) as a number, or BadInput naming it."""
    if value is None or isinstance(value, kind):
        return value
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise BadInput(f"--{option.replace('_', '-')}: {value!r} is not {NOUNS.get(kind, kind.__name__)}") from None


def _typed_set_value(self: Argument, value: Any, cast: bool = True) -> None:
    """invoke casts `--rate abc` with float() and lets the ValueError escape as a traceback (2.2);
    a ParseError is what its Program prints as one line with exit code 1."""
    try:
        _set_value(self, value, cast)
    except ValueError:
        noun = NOUNS.get(self.kind, getattr(self.kind, "__name__", str(self.kind)))
        flag = self.name or self.names[0]  # invoke types `name` Optional; it is attr_name or the first name
        raise ParseError(f"error: --{flag.replace('_', '-')}: {value!r} is not {noun}") from None


_set_value = Argument.set_value
Argument.set_value = _typed_set_value  # type: ignore[method-assign]
