"""Bad input through the real `invoke` entry point: one line naming the option, exit 1, no record."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from infra.spec import Platform
from runbooks.failover import runbook as failover
from runbooks.framework import BadInput, Options

ROOT = Path(__file__).resolve().parents[3]
INVOKE = Path(sys.executable).with_name("invoke")


def _invoke(runs_dir: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "INFEROPS_RUNS_DIR": str(runs_dir)}
    return subprocess.run([str(INVOKE), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["runbook.health", "--service", "nope"], "unknown service 'nope' in stack 'local'"),
        (["runbook.restart", "--stack", "nope"], "no such stack; available:"),
        (["runbook.failover-test", "--rate=-1", "--yes"], "--rate must be a positive number"),
        (["runbook.failover-test", "--mode", "explode", "--yes"], "choose one of kill, stop, pause, reset"),
        (["runbook.failover-test", "--stream-share", "2", "--yes"], "--stream-share must be between 0 and 1"),
        (["runbook.failover-test", "--stack", "eks-prod", "--mode", "stall"], "--mode stall: proxy fault modes run on"),
        (["runbook.failover-test", "--stack", "gpu-host", "--mode", "loading"], "need the Docker engine on this host"),
        (["runbook.failover-test", "--group", "poetry"], "--group 'poetry' is not a gateway model group"),
        (["runbook.failover-test", "--service", "prometheus"], "not the primary of any gateway route"),
        (["runbook.restart", "--timeout=-5", "--yes"], "--timeout must be a positive number"),
    ],
)
def test_bad_input_is_named_and_touches_nothing(runs_dir: Path, args: list[str], message: str) -> None:
    result = _invoke(runs_dir, *args)
    assert result.returncode == 1, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert not runs_dir.exists() or not list(runs_dir.glob("*.json"))


def test_failover_settings_defaults_and_routes(platform: Platform) -> None:
    s = failover.settings(platform, Options())
    assert (s.group, s.primary, s.secondary) == ("chat", "inference-chat", "inference-code")
    s = failover.settings(platform, Options(service="inference-code"))
    assert (s.group, s.primary, s.secondary) == ("code", "inference-code", "inference-chat")
    with pytest.raises(BadInput, match="--fault-after"):
        failover.settings(platform, Options(extra={"duration": 5, "fault_after": 5}))
    with pytest.raises(BadInput, match="--max-failed"):
        failover.settings(platform, Options(extra={"max_failed": -1}))


def _verdict_of(platform: Platform, total: dict) -> str | None:
    """The verdict step on a finished drill's figures: None when it passes, else its error."""
    from runbooks.framework import RunbookError
    from runbooks.framework.display import Display
    from runbooks.framework.record import RunRecord
    from runbooks.framework.runner import Run

    options = Options(extra={"max_failed": 2})
    book = failover.build(platform, options)
    run = Run(book, options, platform, RunRecord(runbook=book.name, stack="unit", options={}), Display(quiet=True))
    empty = {"requests": 0, "failed": 0, "p50_ms": None, "p99_ms": None, "by_backend": {}}
    report = {"total": total, "before": empty, "during": empty, "after": empty}
    run.state_as(failover.Drill).report = report
    try:
        failover.verdict(run)
    except RunbookError as err:
        return str(err)
    return None


def test_a_silent_truncation_fails_the_drill_whatever_max_failed_says(platform: Platform, runs_dir: Path) -> None:
    figures = {"requests": 40, "p50_ms": 30.0, "p99_ms": 90.0, "by_backend": {"inference-chat": 40}, "streamed": 10}
    assert _verdict_of(platform, {**figures, "failed": 2, "silent_truncations": 0}) is None
    assert "3 of 40 requests failed" in (_verdict_of(platform, {**figures, "failed": 3, "silent_truncations": 0}) or "")
    error = _verdict_of(platform, {**figures, "failed": 1, "silent_truncations": 1}) or ""
    assert "1 streamed answers ended short in good order" in error
