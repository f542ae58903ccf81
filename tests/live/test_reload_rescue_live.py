"""runbook.reload's durable undo on the live local stack: the runner is SIGKILLed mid-reload (an
OOM kill, a reboot of the jump host) and its guard, outside the runner's session, puts the old
settings back under the service's name and removes the stand-in, from the record alone.

Two deaths: while the old instance still runs (after the switch: the stand-in carries the
traffic, the old instance's gate is closed), and after it is gone (the drain is over).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import docker
import pytest

from infra.render.llama import flag_value
from infra.spec.model import Platform
from infra.spec.stackconfig import stack_file
from runbooks.reload import instances, netgate
from runbooks.targets import netns
from tests.support.live import INVOKE, ROOT, STACK

pytestmark = pytest.mark.live

SERVICE = "inference-chat"


def _records(runs: Path) -> list[dict[str, Any]]:
    out = [json.loads(p.read_text()) for p in sorted(runs.glob("[0-9]*.json"))]
    return [r for r in out if r["runbook"] == "reload"]


def _until(what: str, check: Callable[[], Any], within_s: float) -> None:
    deadline = time.monotonic() + within_s
    while not check():
        assert time.monotonic() < deadline, f"{what}: not within {within_s:g} s"
        time.sleep(0.1)


def _phase(runs: Path) -> str | None:
    found = _records(runs)
    return found[-1].get("phase") if found else None


def _args(container: Any) -> list[str]:
    out = container.exec_run(["cat", "/proc/1/cmdline"]).output.decode()
    return [a for a in out.split("\0") if a]


@pytest.mark.parametrize("death", ["after-switch", "after-drain"])
def test_a_reload_whose_runner_is_killed_is_put_back_by_its_guard(platform: Platform, tmp_path: Path,
                                                                  death: str) -> None:  # fmt: skip
    client = docker.from_env()
    old = client.containers.get(SERVICE)
    assert flag_value(_args(old), "-c") == "512", "the stack must start at ctx_size 512 (a test before left it changed)"
    before = stack_file(STACK).read_bytes()
    runs = tmp_path / "runs"
    env = {**os.environ, "INFEROPS_RUNS_DIR": str(runs)}
    args = [INVOKE, "runbook.reload", "--service", SERVICE, "--set", "ctx_size=1024", "--yes"]
    proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        if death == "after-switch":
            port = platform.service(SERVICE).port
            _until("the switch", lambda: netgate.is_closed(netns.container_pid(old), port), 180)
        else:
            _until("the old instance gone", lambda: old.id not in {c.id for c in client.containers.list(all=True)}, 300)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        _until(
            "the guard's undo done",
            lambda: all(u["status"] in ("done", "discharged") for u in _records(runs)[-1]["pending_undos"]),
            600,
        )
    finally:
        if proc.poll() is None:
            proc.kill()
    record = _records(runs)[-1]
    undo = [u for u in record["pending_undos"] if u["kind"] == "reload-handover" and u["status"] == "done"]
    outcomes = [(u["kind"], u["status"], u.get("by")) for u in record["pending_undos"]]
    print(json.dumps({"death": death, "undos": outcomes}))
    assert undo and undo[0]["by"] == "guard"
    now = client.containers.get(SERVICE)
    assert now.status == "running" and flag_value(_args(now), "-c") == "512"  # the old settings
    assert (now.id == old.id) == (death == "after-switch")  # the old instance itself, or one like it
    assert not client.containers.list(all=True, filters={"label": f"{instances.RELOAD_LABEL}={SERVICE}"})
    assert not netgate.is_closed(netns.container_pid(now), platform.service(SERVICE).port)
    assert stack_file(STACK).read_bytes() == before
