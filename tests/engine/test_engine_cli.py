"""`pulumi preview/up/destroy -s eks-prod` typed as an operator types them: the built CLI, the
built Python language host running infra/__main__.py, the Kubernetes provider in render mode.

Needs the tools from `invoke engine.build` (.tools/bin); skipped with the reason otherwise.
"""

from __future__ import annotations

import secrets
import subprocess
from pathlib import Path

import pytest

from infra.engine.env import engine_env
from infra.engine.render import rendered_files, scratch_project
from infra.engine.secrets import secret_keys_used
from infra.engine.tools import BIN_DIR, CLI, TOOLS
from infra.spec import load_platform
from infra.targets.k8s.render import manifests
from tests.engine.conftest import OperatorStacks

STACK = "eks-prod"
missing = [str(t.binary()) for t in TOOLS if not t.binary().is_file()]
pytestmark = pytest.mark.skipif(
    bool(missing), reason=f"engine tools not built ({', '.join(missing)}): run `invoke engine.build` (needs Go)"
)


def pulumi(project: Path, env: dict[str, str], *args: str) -> str:
    proc = subprocess.run(
        [str(CLI.binary(BIN_DIR)), *args, "--stack", STACK, "--non-interactive"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, f"pulumi {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def test_pulumi_up_from_the_shell_runs_the_program_through_the_language_host(
    tmp_path: Path, untouched_stack_file: Path
) -> None:
    project = scratch_project(STACK, tmp_path / "project")
    (tmp_path / "passphrase").write_text(secrets.token_urlsafe(16))
    env = engine_env({"PATH": "/usr/bin:/bin", "PULUMI_CONFIG_PASSPHRASE_FILE": str(tmp_path / "passphrase")},
                     state_dir=tmp_path / "state")  # fmt: skip
    out = tmp_path / "rendered"
    expected = len(manifests(load_platform(STACK)))

    subprocess.run([str(CLI.binary(BIN_DIR)), "stack", "init", STACK], cwd=project, env=env, check=True)
    pulumi(project, env, "config", "set", "--path", "eks.render_yaml_to_directory", str(out))
    for key in secret_keys_used(load_platform(STACK)):
        pulumi(project, env, "config", "set", "--secret", key, secrets.token_hex(8))

    preview = pulumi(project, env, "preview")
    assert f"{expected + 2} to create" in preview, preview  # the objects, the provider's stack and provider rows
    assert not rendered_files(out), "preview must not write anything"
    assert "is expected to have version" not in preview, "the provider and the Python SDK disagree"

    pulumi(project, env, "up", "--yes", "--skip-preview")
    assert len(rendered_files(out)) == expected
    again = pulumi(project, env, "preview")
    assert "to create" not in again and "to update" not in again, again

    pulumi(project, env, "destroy", "--yes", "--skip-preview")
    assert len(rendered_files(out)) < expected


def test_stack_render_uses_the_engine_and_leaves_the_stack_file_alone(
    tmp_path: Path, operator_stacks: OperatorStacks, untouched_stack_file: Path
) -> None:
    """The operator's own command, with the operator's passphrase: their secret is decrypted."""
    import os
    import sys

    from infra.spec.stackconfig import ROOT

    env = {**os.environ, "PULUMI_CONFIG_PASSPHRASE": operator_stacks.passphrase}
    env.pop("PULUMI_CONFIG_PASSPHRASE_FILE", None)
    invoke = str(Path(sys.executable).with_name("invoke"))
    proc = subprocess.run([invoke, "stack.render", "--stack", STACK, "--out", str(tmp_path / "out")], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "by the Pulumi engine" in proc.stdout
    assert len(rendered_files(tmp_path / "out")) == len(manifests(load_platform(STACK)))
