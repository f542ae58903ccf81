"""What a runbook is: named steps, each an action on a run, plus the options every runbook takes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runbooks.framework.runner import Run


@dataclass(frozen=True)
class Options:
    """The options common to every runbook (`--stack`, `--service`, `--dry-run`, `--yes`, `--json`)."""

    stack: str = "local"
    service: str | None = None
    dry_run: bool = False
    yes: bool = False
    json: bool = False
    extra: dict[str, Any] = field(default_factory=dict)  # runbook-specific options, kept in the record


@dataclass(frozen=True)
class Step:
    """One named step.

    `probe` steps only read (health, state); they also run under `--dry-run` while they lead the
    plan (the steady-state hypothesis), so a dry run tells whether the real run could start.
    `destructive` steps stop, kill or change something and need `--yes`.
    """

    name: str
    action: Callable[[Run], Any]
    summary: str = ""
    probe: bool = False
    destructive: bool = False

    def __post_init__(self) -> None:
        if self.probe and self.destructive:
            raise ValueError(f"step {self.name!r} cannot be both a probe and destructive")


@dataclass
class NoState:
    """The state of a runbook whose steps share nothing."""


@dataclass(frozen=True)
class Runbook:
    """A plan: steps in order. `exclusive` runbooks take the stack lock (one mutating run per stack).

    `state` makes what the steps share, one dataclass per runbook (typed, and shown whole in a
    debugger), read by the steps with `run.state_as(Kind)`."""

    name: str
    title: str
    steps: tuple[Step, ...]
    exclusive: bool = True
    seed: str = ""  # the seed procedure this runbook replaces, shown in the plan
    state: Callable[[], object] = NoState
    keep_records: int | None = None  # records of it kept per stack (None: all); older ones go as a run starts

    @property
    def destructive_steps(self) -> list[Step]:
        return [s for s in self.steps if s.destructive]
