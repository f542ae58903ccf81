"""Config errors that name the stack file, the key, the bad value and what is allowed."""

from __future__ import annotations

from dataclasses import dataclass

from infra.errors import BadInput


@dataclass(frozen=True)
class Problem:
    """One bad setting: where it is, what it holds and what would be accepted."""

    key: str
    value: object
    allowed: str

    def render(self) -> str:
        return f"  {self.key} = {self.value!r}: {self.allowed}"


class ConfigError(BadInput, ValueError):
    """Stack config that cannot be deployed; raised before any resource exists."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems
        lines = [f"invalid stack config in {source}:"] + [p.render() for p in problems]
        super().__init__("\n".join(lines))

    @property
    def keys(self) -> list[str]:
        return [p.key for p in self.problems]


class UnknownService(BadInput, KeyError):
    """A service name the stack does not have (or has disabled); the message lists the known ones."""

    def __str__(self) -> str:  # KeyError's own str() would quote the whole message
        return str(self.args[0]) if self.args else ""
