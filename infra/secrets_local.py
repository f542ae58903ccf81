"""Secrets for paths that run without the Pulumi engine (compose export, runbooks, tests).

The Pulumi programs read secrets from Pulumi config. Everything else reads them from the
environment (`INFEROPS_<KEY>`, upper-cased) or from `.state/<stack>/secrets/<key>` (mode 0600),
generating a random value there on request. Values are never printed.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from infra.errors import Missing
from infra.spec.stackconfig import ROOT

STATE_DIR = ROOT / ".state"


class MissingSecret(Missing, LookupError):
    """A secret the operation needs is not set."""


def secret_path(stack: str, key: str) -> Path:
    return STATE_DIR / stack / "secrets" / key


def env_name(key: str) -> str:
    return f"INFEROPS_{key.upper()}"


def local_secret(stack: str, key: str, generate: bool = False) -> str:
    """The secret `key` of `stack`; with `generate`, a new random one is stored when none exists."""
    from_env = os.environ.get(env_name(key))
    if from_env:
        return from_env
    path = secret_path(stack, key)
    if path.is_file():
        return path.read_text().strip()
    if not generate:
        raise MissingSecret(f"secret {key!r} of stack {stack!r} is not set: export {env_name(key)} or write {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value + "\n")
    return value
