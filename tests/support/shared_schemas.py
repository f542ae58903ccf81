"""The published schemas beside the repository (../shared/schemas): Qdrant's OpenAPI spec and the
operators' CRDs. They are part of the test setup, so a missing one is an error that names the
path, never a skip: the tests bound to them would otherwise pass without checking anything."""

from __future__ import annotations

from pathlib import Path

__all__ = ["SCHEMAS", "SchemaMissing", "require"]

SCHEMAS = Path(__file__).resolve().parents[2].parent / "shared" / "schemas"


class SchemaMissing(FileNotFoundError):
    """A schema the tests are bound to is not on this machine; the message says where it was looked for."""


def require(path: Path, what: str) -> Path:
    """`path` when it exists; SchemaMissing, naming `what` and the folder the tests expect, otherwise."""
    if not path.exists():
        raise SchemaMissing(f"{what} not found at {path}: the tests need ../shared/schemas beside the repository")
    return path
