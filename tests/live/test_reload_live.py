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


def test_gpu_layers_override_changes_ngl_and_stack_config_only(platform, stack_bytes) -> None:
    from runbooks.gpu_layers.runbook import build as build_gpu

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


def test_the_gateway_opens_a_new_backend_connection_for_every_request(platform) -> None:
    """What the handover's drain relies on (AIOHTTP_KEEPALIVE_TIMEOUT=0 in the service table): the
    pinned LiteLLM's aiohttp pool hands out its oldest connection first (FIFO), so under load a pool
    that grew in a latency spike stays busy and never idles out; without reuse, the old instance's
    connections end with their request once its drain gate is closed."""
    import httpx

    from runbooks.probes import completion_payload, gateway_headers, gateway_url
    from runbooks.reload import netgate
    from runbooks.targets import netns

    pid = netns.container_pid(_docker().containers.get(SERVICE))
    port = platform.service(SERVICE).port
    payload = completion_payload("chat", 2)
    ports: set[int] = set()
    with httpx.Client(headers=gateway_headers(STACK), timeout=30) as client:
        for _ in range(6):
            client.post(gateway_url(platform), json=payload).raise_for_status()
            ports |= {c.remote_port for c in netgate.read_connections(pid, port) if c.remote == _gateway_ip()}
    assert len(ports) >= 6, f"the gateway reused its connections to {SERVICE}: ports {sorted(ports)}"


def _docker() -> Any:
    import docker

    return docker.from_env()


def _gateway_ip() -> str:
    gw = _docker().containers.get("api-gateway")
    return next(iter(gw.attrs["NetworkSettings"]["Networks"].values()))["IPAddress"]


def test_dry_run_is_inert(platform, stack_bytes) -> None:
    before_ids, path = _containers(), stack_file(STACK)
    options = Options(stack=STACK, service=SERVICE, dry_run=True, extra={"set": ["ctx_size=1024"]})
    rec = execute(build(platform, options), options, platform, Display(quiet=True))
    assert rec.status == "dry-run" and rec.exit_code == ExitCode.OK
    assert "ctx_size: 1024" in rec.steps[0].detail["config_diff"]
    assert path.read_bytes() == stack_bytes and _containers() == before_ids
    assert [s.status for s in rec.steps[1:]] == ["planned"] * (len(rec.steps) - 1)


def test_reload_status_reads_the_last_run(platform, stack_bytes) -> None:
    """A reload of its own (a missing model: it acts, fails fast and rolls back), then its status."""
    from runbooks.framework.record import records
    from runbooks.reload.status import reload_status

    rec = _reload(platform, [], model="/models/missing.gguf")
    assert rec.status == "rolled-back", rec.error
    acted = [r for r in records("reload", STACK) if r["status"] not in ("dry-run", "refused")]
    dry = Options(stack=STACK, service=SERVICE, dry_run=True, extra={"set": ["ctx_size=1024"]})
    assert execute(build(platform, dry), dry, platform, Display(quiet=True)).status == "dry-run"
    st = reload_status(STACK)  # the last reload that acted: the dry run after it reloaded nothing
    assert acted[-1]["id"] == rec.id and st["record"] == rec.id
    assert st["state"] == "failed" and st["completed_at"] and rec.error and st["error"] == rec.error
