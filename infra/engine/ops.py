"""preview / up / destroy with the real engine, through the Automation API.

Why the Automation API and an inline program: the Python language host
(`pulumi-language-python`) cannot be built from the module proxy here (docs/engine.md). For
inline programs the Automation API serves the language-host protocol itself, in this process,
and hands its address to the CLI (`--client`), so the CLI needs no language plugin. The program
is `infra.program.main`, the same function `infra/__main__.py` runs under `pulumi up`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from infra.engine.env import STATE_DIR, EngineUnavailable, cli_path, engine_env
from infra.engine.tools import BIN_DIR, KUBERNETES, Tool
from infra.spec.stackconfig import PROJECT, ROOT

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


def open_stack(where: EngineStack, program: Callable[[], None] | None = None) -> auto.Stack:
    """Create or select the stack on the local backend, with the inline program."""
    from pulumi import automation as auto

    if program is None:
        from infra.program import main as program
    cli = cli_path(where.bin_dir)
    env = engine_env(where.environ, where.state_dir, where.bin_dir)
    opts = auto.LocalWorkspaceOptions(
        work_dir=str(where.project_dir),
        pulumi_home=env["PULUMI_HOME"],
        pulumi_command=auto.PulumiCommand(root=str(cli.parent.parent)),
        env_vars=env,
    )
    return auto.create_or_select_stack(stack_name=where.name, project_name=PROJECT, program=program, opts=opts)


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
