"""preview / up / destroy with the real engine, through the Automation API on the project itself.

The Automation API drives the built CLI on the project directory, exactly as `pulumi up -s
<stack>` does: the CLI starts the Python language host (`.tools/bin/pulumi-language-python`),
which runs `infra/__main__.py` in the project's virtualenv. The API adds typed results and
event streams for the tests and the tasks.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from infra.engine.env import STATE_DIR, EngineUnavailable, cli_path, engine_env
from infra.engine.tools import BIN_DIR, KUBERNETES, Tool
from infra.spec.stackconfig import ROOT

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


def check_target(target: str, stack: str, bin_dir: Path = BIN_DIR) -> None:
    """Refuse, saying why, when the stack's provider does not exist here."""
    if target in NO_ENGINE:
        raise EngineUnavailable(f"stack {stack!r} (target {target}) cannot run on the engine here: {NO_ENGINE[target]}")
    tool = ENGINE_TARGETS.get(target)
    if tool is None:
        raise EngineUnavailable(f"stack {stack!r}: no engine provider is known for target {target!r}")
    if not tool.binary(bin_dir).is_file():
        raise EngineUnavailable(f"{tool.binary(bin_dir)} does not exist: run `invoke engine.build`")


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
    """Run `preview`, `up` or `destroy` on a stack whose target the engine supports here."""
    check_target(target_of(where.name), where.name, where.bin_dir)
    stack = open_stack(where)
    if action == "preview":
        return stack.preview(on_output=on_output, diff=True)
    if action == "up":
        return stack.up(on_output=on_output)
    if action == "destroy":
        return stack.destroy(on_output=on_output)
    raise ValueError(f"unknown engine action {action!r}: preview, up or destroy")
