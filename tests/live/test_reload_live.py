"""runbook.reload and runbook.gpu-layers on the live local stack, under load through the gateway.

`invoke stack.up --stack local` first, then `.venv/bin/pytest -m live tests/live/test_reload_live.py -s`
(-s prints the figures). Each test puts stack config and the service back as it found them.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.render.llama import flag_value
from infra.spec import load_platform
from infra.spec.stackconfig import stack_file
from runbooks.framework import ExitCode, Options, execute
from runbooks.framework.display import Display
from runbooks.reload.measure import under_load
from runbooks.reload.runbook import build
from tests.support.live import STACK

pytestmark = pytest.mark.live

SERVICE = "inference-chat"


@pytest.fixture
def stack_bytes():
    """Stack config as it was; put back (with the service reloaded to match) after the test."""
    path = stack_file(STACK)
    before = path.read_bytes()
    yield before
    if path.read_bytes() != before:
        path.write_bytes(before)
        rec = _reload(load_platform(STACK), [])  # the running container follows the restored config
        assert rec.exit_code == ExitCode.OK, rec.error


def _reload(platform: Any, sets: list[str], model: str | None = None, runbook: Any = None) -> Any:
    options = Options(stack=STACK, service=SERVICE, yes=True, extra={"set": sets, "model": model})
    rb = runbook or build(platform, options)
    return execute(rb, options, platform, Display(quiet=True))


def _containers() -> dict[str, str]:
    """The stack's own containers (by its label): what other users of the engine run is not ours."""
    import docker

    from infra.render.containers import LABEL_PREFIX

    client = docker.from_env()
    mine = client.containers.list(all=True, filters={"label": f"{LABEL_PREFIX}.stack={STACK}"})
    return {c.name: c.id for c in mine}


def _args(name: str) -> list[str]:
    import docker

    out = docker.from_env().containers.get(name).exec_run(["cat", "/proc/1/cmdline"]).output.decode()
    return [a for a in out.split("\0") if a]


def _print(title: str, figures: dict[str, Any]) -> None:
    keep = {k: v for k, v in figures.items() if k != "result"}
    print(f"\n{title}: {json.dumps(keep, indent=1, default=str)}")


@pytest.mark.quarantine(
    "intermittent since the drill and Prometheus 3 work landed (stop 13): in a full live tier the handover "
    "either lets requests reach the secondary or leaves the gateway's pooled connections on the old "
    "instance past the drain timeout; alone on a fresh stack all five pass"
)
def test_reload_with_a_changed_setting_under_load_loses_nothing(platform, stack_bytes) -> None:
    before_ids = _containers()
    figures = under_load(platform, lambda: _reload(platform, ["ctx_size=1024"]), rate=10, min_total_s=40)
    rec = figures["result"]
    figures["reload_total_s"] = rec.duration_s
    figures["reload_phases_s"] = {s.name: s.duration_s for s in rec.steps}
    _print("reload ctx_size 512 -> 1024 under 10 req/s", figures)
    assert rec.exit_code == ExitCode.OK, rec.error
    assert figures["failed"] == 0, figures["errors"]
    assert figures["not_primary"] == 0  # nothing served by the failover secondary
    assert figures["during"]["requests"] >= 10 * 0.9 * figures["action_s"] // 1
    assert flag_value(_args(SERVICE), "-c") == "1024"
    assert load_platform(STACK).service(SERVICE).llama.ctx_size == 1024
    assert rec.config_changes[0]["changes"] == [{"key": f"services.{SERVICE}.ctx_size", "old": 512, "new": 1024}]
    after_ids = _containers()
    assert {n: i for n, i in after_ids.items() if n != SERVICE} == {
        n: i for n, i in before_ids.items() if n != SERVICE
    }  # nothing else was touched, no stand-in left
    assert rec.steps[-1].detail["deploy_would_change"] == []  # stack.up would recreate nothing


@pytest.mark.quarantine(
    "intermittent since the drill and Prometheus 3 work landed (stop 13): in a full live tier the handover "
    "either lets requests reach the secondary or leaves the gateway's pooled connections on the old "
    "instance past the drain timeout; alone on a fresh stack all five pass"
)
def test_reload_with_a_broken_model_rolls_back_under_load(platform, stack_bytes) -> None:
    before_ids = _containers()
    figures = under_load(platform, lambda: _reload(platform, [], model="/models/missing.gguf"), rate=10)
    rec = figures["result"]
    _print("reload with a missing model file under 10 req/s", figures)
    assert rec.exit_code == ExitCode.FAILED and rec.status == "rolled-back"
    assert "exited" in (rec.error or "") or "not healthy" in (rec.error or "")
    assert figures["failed"] == 0 and figures["not_primary"] == 0
    assert stack_file(STACK).read_bytes() == stack_bytes
    assert _containers() == before_ids  # the old instance never stopped; the stand-in is gone


@pytest.mark.quarantine(
    "intermittent since the drill and Prometheus 3 work landed (stop 13): in a full live tier the handover "
    "either lets requests reach the secondary or leaves the gateway's pooled connections on the old "
    "instance past the drain timeout; alone on a fresh stack all five pass"
)
def test_gpu_layers_override_changes_ngl_and_stack_config_only(platform, stack_bytes) -> None:
    from runbooks.gpu_layers import build as build_gpu

    before_ids = _containers()
    options = Options(stack=STACK, service=SERVICE, yes=True, extra={"layers": "1"})
    figures = under_load(
        platform,
        lambda: execute(build_gpu(platform, options), options, platform, Display(quiet=True)),
        rate=10,
        before_s=5,
        after_s=5,
        min_total_s=20,
    )
    rec = figures["result"]
    _print("gpu-layers --layers 1 under 10 req/s", figures)
    assert rec.exit_code == ExitCode.OK, rec.error
    assert flag_value(_args(SERVICE), "-ngl") == "1"
    assert load_platform(STACK).tuning.CHAT_N_GPU_LAYERS == 1
    text = stack_file(STACK).read_text().splitlines()
    assert [ln for ln in text if ln not in stack_bytes.decode().splitlines()] == ["    CHAT_N_GPU_LAYERS: 1"]
    assert figures["failed"] == 0 and figures["not_primary"] == 0
    after = _containers()
    assert {n: i for n, i in after.items() if n != SERVICE} == {n: i for n, i in before_ids.items() if n != SERVICE}


def test_dry_run_is_inert(platform, stack_bytes) -> None:
    before_ids, path = _containers(), stack_file(STACK)
    options = Options(stack=STACK, service=SERVICE, dry_run=True, extra={"set": ["ctx_size=1024"]})
    rec = execute(build(platform, options), options, platform, Display(quiet=True))
    assert rec.status == "dry-run" and rec.exit_code == ExitCode.OK
    assert "ctx_size: 1024" in rec.steps[0].detail["config_diff"]
    assert path.read_bytes() == stack_bytes and _containers() == before_ids
    assert [s.status for s in rec.steps[1:]] == ["planned"] * (len(rec.steps) - 1)


def test_reload_status_reads_the_last_run(platform) -> None:
    from runbooks.framework.record import records
    from runbooks.reload.status import FINAL, reload_status

    acted = [r for r in records("reload", STACK) if r["status"] not in ("dry-run", "refused")]
    st = reload_status(STACK)  # the last reload that acted (dry runs are not reloads)
    assert acted, "run the other live reload tests first"
    assert st["record"] == acted[-1]["id"] and st["state"] == FINAL[acted[-1]["status"]]
