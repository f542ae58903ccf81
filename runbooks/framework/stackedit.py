"""Change stack config (`stacks/Pulumi.<stack>.yaml`) from a runbook, so the next deploy agrees.

Edits keep comments and key order (ruamel.yaml round trip), are validated through the same
loader the Pulumi program uses before anything is written, show a unified diff, keep old and
new values in the run record, and register a rollback that puts the old file back byte for byte.
"""

from __future__ import annotations

import difflib
import io
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from infra.spec.model import Platform
from infra.spec.stackconfig import PROJECT, platform_from_config, read_stack_config, stack_file

if TYPE_CHECKING:
    from runbooks.framework.runner import Run


def _yaml(text: str | None = None) -> Any:
    """A round-trip YAML that writes lists indented the way `text` (the original file) does."""
    from ruamel.yaml import YAML

    y = YAML()
    y.preserve_quotes = True
    y.width = 4096
    if text:
        from ruamel.yaml.util import load_yaml_guess_indent

        _, indent, block_seq_indent = load_yaml_guess_indent(text)
        if indent is not None and block_seq_indent is not None:
            y.indent(mapping=2, sequence=indent, offset=block_seq_indent)
    return y


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.chmod(tmp, path.stat().st_mode & 0o777)
    os.replace(tmp, path)


@dataclass
class StackConfigEdit:
    """Pending changes to one stack file; `set("tuning.CHAT_N_GPU_LAYERS", 500)` then `apply(run)`."""

    stack: str
    changes: list[tuple[str, Any, Any]] = field(default_factory=list)  # (key, old, new)

    def __post_init__(self) -> None:
        self.path = stack_file(self.stack)
        read_stack_config(self.stack)  # a missing stack is a ConfigError naming the available ones
        self.original = self.path.read_text()
        self._doc = _yaml().load(self.original)

    def _config(self) -> Any:
        return self._doc.setdefault("config", {})

    def get(self, key: str) -> Any:
        """The current value at a dotted key below `inferops:` (`tuning.CHAT_N_GPU_LAYERS`)."""
        head, *rest = key.split(".")
        node = self._config().get(f"{PROJECT}:{head}")
        for part in rest:
            if not hasattr(node, "get"):
                return None
            node = node.get(part)
        return node

    def set(self, key: str, value: Any) -> None:
        head, *rest = key.split(".")
        old = self.get(key)
        config = self._config()
        if not rest:
            config[f"{PROJECT}:{head}"] = value
        else:
            from ruamel.yaml.comments import CommentedMap

            node = config.setdefault(f"{PROJECT}:{head}", CommentedMap())
            for part in rest[:-1]:
                node = node.setdefault(part, CommentedMap())
            node[rest[-1]] = value
        self.changes.append((key, old, value))

    def text(self) -> str:
        buf = io.StringIO()
        _yaml(self.original).dump(self._doc, buf)
        return buf.getvalue()

    def diff(self) -> str:
        return "".join(
            difflib.unified_diff(
                self.original.splitlines(keepends=True),
                self.text().splitlines(keepends=True),
                fromfile=f"{self.path.name} (now)",
                tofile=f"{self.path.name} (after)",
            )
        )

    def validate(self) -> Platform:
        """The platform the edited file describes; a ConfigError (key, value, allowed) if invalid."""
        import yaml

        doc = yaml.safe_load(self.text()) or {}
        raw = {
            k.partition(":")[2]: v
            for k, v in (doc.get("config") or {}).items()
            if k.startswith(f"{PROJECT}:") and not (isinstance(v, dict) and "secure" in v)
        }
        return platform_from_config(self.stack, raw, source=str(self.path))

    def apply(self, run: Run | None = None) -> Platform:
        """Validate, write, record old/new and the diff, and register the restore as a rollback."""
        platform = self.validate()
        if run is not None:  # write-ahead: the restore is on disk before the file changes
            run.on_rollback(
                f"restore {self.path.name}",
                self.restore,
                durable=("restore-file", {"path": str(self.path), "content": self.original}),
            )
            run.record.config_changes.append(
                {
                    "file": str(self.path),
                    "changes": [{"key": k, "old": o, "new": n} for k, o, n in self.changes],
                    "diff": self.diff(),
                }
            )
            run.record.save()
        _write_atomic(self.path, self.text())
        return platform

    def restore(self) -> None:
        _write_atomic(self.path, self.original)
