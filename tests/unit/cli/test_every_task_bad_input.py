"""Every invoke task, driven through the real `invoke` entry point with bad input: the documented
exit code (infra.errors.ExitCode), the option or key named, never a traceback, nothing changed.

The cases are generated from the task collection itself, so a new task or option is covered (or
this test says which one is not).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from infra.errors import ExitCode
from infra.spec import stackconfig

ROOT = Path(__file__).resolve().parents[3]
INVOKE = Path(sys.executable).with_name("invoke")
NOT_A_NUMBER = "abc"
# Options whose default is None, so invoke hands them over as text: the runbook parses them.
TEXT_NUMBERS = {
    "runbook.restart": ["timeout"],
    "runbook.daily-check": ["since-h"],
    "runbook.gpu-layers": ["layers", "vram-mib"],
    "runbook.gpu-oom": ["vram-mib"],
}
# Options that must name something of the stack; other required inputs of a task.
NEEDS = {
    "runbook.reload": ["--service", "inference-chat", "--set", "ctx_size=1024"],
    "runbook.gpu-layers": ["--service", "inference-chat"],
}


def _tasks() -> dict[str, list[Any]]:
    """Task name -> its invoke Arguments, from the collection `invoke --list` shows."""
    sys.path.insert(0, str(ROOT))
    try:
        from tasks import ns
    finally:
        sys.path.remove(str(ROOT))
    found = {}
    for name in ns.task_names:
        task = ns[name]
        found[name] = task.get_arguments()
    return found


TASKS = _tasks()


def _cases() -> list[Any]:
    cases = []
    for name, args in sorted(TASKS.items()):
        names = {a.name.replace("_", "-") for a in args}
        if "stack" in names:
            cases.append(pytest.param(name, ["--stack", "nope"], ExitCode.FAILED, "no such stack", id=f"{name}-stack"))
        if "service" in names and name != "runbook.gpu-layers":
            cases.append(
                pytest.param(name, ["--service", "nope"], ExitCode.FAILED, "unknown service 'nope'", id=f"{name}-svc")
            )
        for arg in args:
            opt = arg.name.replace("_", "-")
            if arg.kind in (int, float) or opt in TEXT_NUMBERS.get(name, []):
                extra = [*NEEDS.get(name, []), f"--{opt}", NOT_A_NUMBER]
                cases.append(pytest.param(name, extra, ExitCode.FAILED, f"--{opt}", id=f"{name}-{opt}-type"))
    return cases


RANGES = [
    (["runbook.failover-test", "--rate=-1", "--yes"], ExitCode.FAILED, "--rate must be a positive number"),
    (["runbook.failover-test", "--duration", "5", "--fault-after", "5"], ExitCode.FAILED, "--fault-after"),
    (["runbook.failover-test", "--max-failed=-1"], ExitCode.FAILED, "--max-failed"),
    (["runbook.failover-test", "--mode", "explode", "--yes"], ExitCode.FAILED, "--mode 'explode'"),
    (["runbook.restart", "--timeout=-5", "--yes"], ExitCode.FAILED, "--timeout must be a positive number"),
    (["runbook.daily-check", "--since-h=-1"], ExitCode.FAILED, "--since-h"),
    (["runbook.weekly-check", "--window", "7x"], ExitCode.FAILED, "--window '7x'"),
    (["runbook.weekly-check", "--window", "100d"], ExitCode.FAILED, "--window '100d' is outside"),
    (["runbook.weekly-check", "--prometheus-url", "prom:9090"], ExitCode.FAILED, "--prometheus-url"),
    (["runbook.gpu-layers", "--service", "inference-chat", "--layers=-3"], ExitCode.FAILED, "--layers"),
    (["runbook.gpu-layers", "--service", "prometheus"], ExitCode.FAILED, "prometheus"),
    (["runbook.gpu-oom", "--vram-mib=-1"], ExitCode.FAILED, "--vram-mib"),
    (["runbook.network", "--source", "nope"], ExitCode.FAILED, "--source"),
    (["runbook.karpenter-diagnose", "--stack", "local"], ExitCode.FAILED, "targets compose"),
    (["images.build", "--only", "nope"], ExitCode.FAILED, "nope"),
    (["engine.preview", "--stack", "local"], ExitCode.MISSING, "cannot run on the engine here"),
    (["kube.up", "--stack", "local"], ExitCode.FAILED, "targets compose, not eks"),
]


@pytest.fixture
def sandbox(tmp_path: Path) -> dict[str, Any]:
    """A copy of stacks/ to point the commands at, and an empty runs directory."""
    stacks = tmp_path / "stacks"
    shutil.copytree(stackconfig.STACKS_DIR, stacks)
    env = {**os.environ, "INFEROPS_RUNS_DIR": str(tmp_path / "runs"), "INFEROPS_STACKS_DIR": str(stacks)}
    env.pop("INFEROPS_DEBUG", None)
    return {"env": env, "stacks": stacks, "runs": tmp_path / "runs"}


def _hashes(directory: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.iterdir())}


def _invoke(sandbox: dict[str, Any], args: list[str], ran: bool = False, **env: str) -> subprocess.CompletedProcess:
    """Run a command; it must leave the stack files alone, and write no run record unless it `ran`
    (a runbook that started and found the engine down records that)."""
    before = _hashes(sandbox["stacks"])
    result = subprocess.run(
        [str(INVOKE), *args], cwd=ROOT, env={**sandbox["env"], **env}, capture_output=True, text=True, timeout=120
    )
    assert _hashes(sandbox["stacks"]) == before, "a failed command changed a stack file"
    if not ran:
        assert not list(sandbox["runs"].glob("*.json")), "a command refused for bad input wrote a run record"
    return result


def _check(result: subprocess.CompletedProcess, code: int, named: str) -> None:
    out = result.stdout + result.stderr
    assert result.returncode == code, f"exit {result.returncode}, want {code}:\n{out}"
    assert named in out, out
    assert "Traceback" not in out, out


@pytest.mark.parametrize(("task", "args", "code", "named"), _cases())
def test_bad_option_values(sandbox: dict[str, Any], task: str, args: list[str], code: int, named: str) -> None:
    _check(_invoke(sandbox, [task, *args]), code, named)


@pytest.mark.parametrize(("args", "code", "named"), RANGES)
def test_out_of_range_and_unknown_values(sandbox: dict[str, Any], args: list[str], code: int, named: str) -> None:
    _check(_invoke(sandbox, args), code, named)


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["images.list"], ExitCode.MISSING),
        (["stack.status"], ExitCode.MISSING),
        (["stack.up"], ExitCode.MISSING),
        # A checklist, not an action: it runs, fails its container lines and names the engine there.
        # (runbook.health needs no engine while the services answer over HTTP: its exit says so.)
        (["runbook.daily-check"], ExitCode.FAILED),
    ],
)
def test_docker_engine_down_is_named(sandbox: dict[str, Any], args: list[str], code: int) -> None:
    ran = args[0].startswith("runbook.")
    result = _invoke(sandbox, args, ran=ran, DOCKER_HOST="unix:///nonexistent/docker.sock")
    _check(result, code, "/nonexistent/docker.sock")


def test_engine_command_without_passphrase_is_exit_3_before_anything_runs(sandbox: dict[str, Any]) -> None:
    env = {k: v for k, v in sandbox["env"].items() if not k.startswith("PULUMI_CONFIG_PASSPHRASE")}
    result = _invoke({**sandbox, "env": env}, ["stack.preview", "--stack", "eks-prod"])
    _check(result, ExitCode.MISSING, "PULUMI_CONFIG_PASSPHRASE")


def test_missing_secret_names_the_key_and_the_command_to_set_it(sandbox: dict[str, Any]) -> None:
    result = _invoke(sandbox, ["stack.preview", "--stack", "eks-prod"], PULUMI_CONFIG_PASSPHRASE="not-the-real-one")
    _check(result, ExitCode.MISSING, "inferops:gatewayMasterKey")
    assert "pulumi config set --secret -s eks-prod inferops:gatewayMasterKey <value>" in result.stderr


def test_every_task_is_covered() -> None:
    """A task that takes a stack is driven with a bad one; the families all appear."""
    covered = {p.values[0] for p in _cases()}
    with_stack = {n for n, args in TASKS.items() if any(a.name == "stack" for a in args)}
    assert with_stack <= covered
    assert {n.split(".")[0] for n in TASKS} == {"stack", "observability", "engine", "images", "kube", "runbook"}


def test_debug_shows_the_traceback(sandbox: dict[str, Any]) -> None:
    result = _invoke(sandbox, ["stack.validate", "--stack", "nope"], INFEROPS_DEBUG="1")
    assert result.returncode != 0 and "Traceback" in result.stderr and "ConfigError" in result.stderr
