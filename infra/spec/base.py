"""The base of every config model: strict, frozen. Its own module, so the section models
(alerting, eks, ...) and the service table (model.py) share it without importing each other."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["Strict"]


class Strict(BaseModel):
    """Base for config objects: unknown keys are errors, not silently ignored typos."""

    # validate_default: a default is what a value from stack config would be (5 -> 5.0 for a float),
    # so a platform rebuilt from its JSON dump (a guard's undo) renders byte for byte the same.
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, validate_default=True)
