"""preview / up / destroy with the real engine, through the Automation API on the project itself.

The Automation API drives the built CLI on the project directory, exactly as `pulumi up -s
<stack>` does: the CLI starts the Python language host (`.tools/bin/pulumi-language-python`),
which runs `infra/__main__.py` in the project's virtualenv. The API adds typed results and
event streams for the tests and the tasks.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from infra.engine.env import STATE_DIR, EngineUnavailable, check_passphrase, cli_path, engine_env
from infra.engine.tools import BIN_DIR, KUBERNETES, TOOLS, Tool
from infra.errors import Failed
from infra.secrets_local import MissingSecret
from infra.spec.stackconfig import PROJECT, ROOT, stack_file

if TYPE_CHECKING:
    from pulumi import automation as auto

# Targets whose provider is built into .tools/bin, and the ones that cannot be (and why).
ENGINE_TARGETS: dict[str, Tool] = {"eks": KUBERNETES}
NO_ENGINE: dict[str, str] = {
    "compose": (
        "its provider, pulumi-docker, cannot be built from Go modules (its provider module points the "
        "Terraform docker provider at a patched local copy): use `invoke stack.export-compose` and the "
        "mock-based tests (docs/engine.md)"
    ),
}


@dataclass(frozen=True)
class EngineStack:
    """Where one stack's engine runs: project directory, state and tools."""

    name: str
    project_dir: Path = ROOT
    state_dir: Path = STATE_DIR
    bin_dir: Path = BIN_DIR
    environ: Mapping[str, str] | None = None


class EngineCommandFailed(Failed):
    """The Pulumi CLI ran and failed; the message keeps its `error:` lines, not the whole transcript."""


def check_target(target: str, stack: str) -> None:
    """Refuse, saying why, when the stack's provider cannot exist here."""
    if target in NO_ENGINE:
        raise EngineUnavailable(f"stack {stack!r} (target {target}) cannot run on the engine here: {NO_ENGINE[target]}")
    if target not in ENGINE_TARGETS:
        raise EngineUnavailable(f"stack {stack!r}: no engine provider is known for target {target!r}")


def ensure_tools(bin_dir: Path = BIN_DIR, say: Callable[[str], Any] = print) -> None:
    """Build the engine tools the first time a command needs them (cached by version afterwards);
    GoMissing says what to install when they cannot be built."""
    missing = [t.name for t in TOOLS if not t.binary(bin_dir).is_file()]
    if not missing:
        return
    from infra.engine.build import build_all

    say(f"the Pulumi engine tools are not built yet ({', '.join(missing)}): building them now from Go modules")
    say("(about 9 minutes the first time on 2 cores, cached by version afterwards; docs/engine.md)")
    build_all(bin_dir, report=say)


def configured_keys(stack: str) -> set[str]:
    """Config keys the stack file sets (secret values stay encrypted: only the names are read)."""
    import yaml

    path = stack_file(stack)
    doc = yaml.safe_load(path.read_text()) if path.is_file() else None
    return set((doc or {}).get("config") or {})


def check_secrets(stack: str) -> None:
    """Every secret the program needs is set, or MissingSecret naming the `pulumi config set` to run:
    the engine would otherwise fail halfway through the program with a traceback of its own."""
    from infra.engine.secrets import secret_keys_used
    from infra.spec import load_platform

    have = configured_keys(stack)
    missing = [key for key in secret_keys_used(load_platform(stack)) if f"{PROJECT}:{key}" not in have]
    if missing:
        how = "\n".join(f"  pulumi config set --secret -s {stack} {PROJECT}:{key} <value>" for key in missing)
        raise MissingSecret(
            f"stack {stack!r} needs secrets that are not set; set them with the engine environment "
            f"(docs/engine.md):\n{how}"
        )


def error_lines(err: Exception) -> str:
    """The lines of a failed CLI run that say what went wrong (Pulumi prefixes them `error:`)."""
    text = "\n".join(str(getattr(err, name, "") or "") for name in ("stderr", "stdout")) or str(err)
    lines = [line.strip() for line in text.splitlines() if line.strip().startswith("error:")]
    return "\n".join(dict.fromkeys(lines)) or text.strip().splitlines()[-1]


def open_stack(where: EngineStack) -> auto.Stack:
    """Create or select the stack on the local backend; the program is the project's own."""
    from pulumi import automation as auto

    cli = cli_path(where.bin_dir)
    env = engine_env(where.environ, where.state_dir, where.bin_dir)
    opts = auto.LocalWorkspaceOptions(
        work_dir=str(where.project_dir),
        pulumi_home=env["PULUMI_HOME"],
        pulumi_command=auto.PulumiCommand(root=str(cli.parent.parent)),
        env_vars=env,
    )
    return auto.create_or_select_stack(stack_name=where.name, work_dir=str(where.project_dir), opts=opts)


def target_of(stack: str) -> str:
    from infra.spec import load_platform

    return load_platform(stack).target


def run(action: str, where: EngineStack, on_output: Callable[[str], Any] = print) -> Any:
    """Run `preview`, `up` or `destroy` on a stack whose target the engine supports here.

    Everything that can be checked without the engine is checked first (target, passphrase,
    secrets), so a missing piece is one line and the stack file is left as it was.
    """
    from pulumi.automation import errors

    if action not in ("preview", "up", "destroy"):
        raise ValueError(f"unknown engine action {action!r}: preview, up or destroy")
    check_target(target_of(where.name), where.name)
    check_passphrase(dict(os.environ if where.environ is None else where.environ))
    if action != "destroy":
        check_secrets(where.name)
    ensure_tools(where.bin_dir, say=on_output)
    stack = open_stack(where)
    try:
        if action == "preview":
            return stack.preview(on_output=on_output, diff=True)
        if action == "up":
            return stack.up(on_output=on_output)
        return stack.destroy(on_output=on_output)
    except errors.CommandError as err:
        raise EngineCommandFailed(f"pulumi {action} -s {where.name} failed:\n{error_lines(err)}") from None
