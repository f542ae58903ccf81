"""The engine tier runs against the stack files as an operator's checkout holds them after
`pulumi config set --secret`: eks-prod carries an `encryptionsalt` and a `secure:` value made with
the operator's passphrase, which the tests that bring their own passphrase do not know.

The copy lives in a temporary `INFEROPS_STACKS_DIR`, so the checkout's stacks/ is never written.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from infra.engine.env import engine_env
from infra.engine.render import scratch_project
from infra.engine.tools import BIN_DIR, CLI
from infra.spec import stackconfig

STACK = "eks-prod"


@dataclass(frozen=True)
class OperatorStacks:
    directory: Path
    passphrase: str  # the operator's: opens the secure: value of eks-prod

    def stack_file(self, stack: str = STACK) -> Path:
        return self.directory / f"Pulumi.{stack}.yaml"


def _encrypt_like_an_operator(directory: Path, passphrase: str, scratch: Path) -> None:
    """`pulumi stack init` and `config set --secret` with the operator's passphrase, on a copy."""
    project = scratch_project(STACK, scratch)
    (scratch / "passphrase").write_text(passphrase)
    env = engine_env(
        {"PATH": "/usr/bin:/bin", "PULUMI_CONFIG_PASSPHRASE_FILE": str(scratch / "passphrase")},
        state_dir=scratch / "state",
    )
    cli = str(CLI.binary(BIN_DIR))
    for args in (
        ["stack", "init", STACK],
        ["config", "set", "--secret", "gatewayMasterKey", secrets.token_hex(8), "--stack", STACK],
    ):
        subprocess.run([cli, *args], cwd=project, env=env, check=True, capture_output=True)
    shutil.copy(project / "stacks" / f"Pulumi.{STACK}.yaml", directory / f"Pulumi.{STACK}.yaml")


@pytest.fixture(scope="session", autouse=True)
def operator_stacks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OperatorStacks]:
    if not CLI.binary(BIN_DIR).is_file():
        yield OperatorStacks(stackconfig.STACKS_DIR, "")  # the tier skips; nothing to prepare
        return
    directory = tmp_path_factory.mktemp("operator-stacks")
    for path in stackconfig.STACKS_DIR.glob("Pulumi.*.yaml"):
        shutil.copy(path, directory)
    passphrase = secrets.token_urlsafe(16)
    _encrypt_like_an_operator(directory, passphrase, tmp_path_factory.mktemp("operator-scratch"))
    text = (directory / f"Pulumi.{STACK}.yaml").read_text()
    assert "encryptionsalt:" in text and "secure:" in text, text
    saved = (os.environ.get("INFEROPS_STACKS_DIR"), stackconfig.STACKS_DIR)
    os.environ["INFEROPS_STACKS_DIR"] = str(directory)
    stackconfig.STACKS_DIR = directory
    try:
        yield OperatorStacks(directory, passphrase)
    finally:
        stackconfig.STACKS_DIR = saved[1]
        if saved[0] is None:
            os.environ.pop("INFEROPS_STACKS_DIR", None)
        else:
            os.environ["INFEROPS_STACKS_DIR"] = saved[0]


@pytest.fixture
def untouched_stack_file(operator_stacks: OperatorStacks) -> Iterator[Path]:
    """The operator's eks-prod stack file, checked to be byte-for-byte the same after the test."""
    path = operator_stacks.stack_file()
    before = path.read_bytes()
    yield path
    assert path.read_bytes() == before, f"{path} was changed by the test"
