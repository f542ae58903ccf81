"""Alert routing settings of a stack (receivers, maintenance windows, rule timings).

Receiver URLs and keys are secrets: only the names of the Pulumi config keys that hold them
live here, never the values.
"""

from __future__ import annotations

from infra.spec.model import Strict

# Pulumi config secrets read by the programs (never part of the spec).
SECRET_KEYS: tuple[str, ...] = ()


class Alerting(Strict):
    """Placeholder until the observability issue fills it in."""
