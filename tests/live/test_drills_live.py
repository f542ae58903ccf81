"""Drills that are safe at 3 a.m., on the live local stack (`pytest -m live tests/live/test_drills_live.py`).

The real `invoke runbook.*` entry points run as processes; they are sent SIGHUP (with their
terminal gone), SIGTERM or SIGKILL at the destructive step; guard and recover are the real ones;
halts come from the real secondary paused; silences are Alertmanager's and notifications are
read back from the in-stack alert sink. Each test leaves every container running and unpaused.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import docker
import httpx
import pytest

from infra.spec.model import Platform
from runbooks.failover.runbook import settings
from runbooks.faults.inject import PROXY_PORT
from runbooks.faults.modes import PROXY_MODES
from runbooks.faults.redirect import is_installed
from runbooks.framework import Options
from runbooks.framework.silence import alertmanager_url, silences_of
from runbooks.probes import gateway_headers, gateway_url, health_url, served_by, wait_healthy_sync
from runbooks.targets import target_for
from runbooks.targets.netns import container_pid
from tests.support.live import INVOKE, ROOT

pytestmark = pytest.mark.live

PRIMARY, SECONDARY, OTHER = "inference-chat", "inference-code", "embedding"
FAULTED = {"kill": "exited", "stop": "exited", "pause": "paused"}
FIGURES: list[dict[str, Any]] = []


@pytest.fixture
def runs(tmp_path: Path) -> Path:
    return tmp_path / "runs"


def _env(runs: Path) -> dict[str, str]:
    return {**os.environ, "INFEROPS_RUNS_DIR": str(runs)}


def _invoke(runs: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([INVOKE, *args], cwd=ROOT, env=_env(runs), capture_output=True, text=True, timeout=timeout)


def _records(runs: Path, runbook: str) -> list[dict[str, Any]]:
    # run records only (the guard's index lives in .guard/, a record being rewritten in a .part file)
    out = [json.loads(p.read_text()) for p in sorted(runs.glob("[0-9]*.json"))]
    return [r for r in out if r["runbook"] == runbook]


def _until(what: str, check: Callable[[], Any], within_s: float, poll_s: float = 0.1) -> float:
    t0 = time.monotonic()
    while not check():
        assert time.monotonic() - t0 < within_s, f"{what}: not within {within_s:g} s"
        time.sleep(poll_s)
    return time.monotonic() - t0


def _serving(platform: Platform, name: str) -> bool:
    if not target_for(platform).state(name).running:
        return False
    try:
        return httpx.get(health_url(platform, platform.service(name)), timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _routed_to_primary(platform: Platform) -> bool:
    s = settings(platform, Options())
    try:
        for _ in range(3):
            resp = httpx.post(
                gateway_url(platform),
                json=s.payload(),
                headers=gateway_headers(platform.stack),
                timeout=platform.tuning.LLM_REQUEST_TIMEOUT,
            )
            if resp.status_code != 200 or served_by(platform)(resp) != PRIMARY:
                return False
    except httpx.HTTPError:
        return False
    return True


def _nothing_left_broken(platform: Platform) -> None:
    target = target_for(platform)
    states = {svc.name: target.state(svc.name).status for svc in platform.enabled()}
    assert all(st == "running" for st in states.values()), states


@pytest.fixture
def whole(platform: Platform) -> Iterator[Platform]:
    """Every container running, unpaused and healthy before and after; the gateway on the primary
    (a previous test's fault can leave a backend in the gateway's cooldown for a few seconds)."""
    _until("gateway on the primary before the test", lambda: _routed_to_primary(platform), 60, poll_s=1)
    yield platform
    target = target_for(platform)
    for svc in platform.enabled():
        target.unpause(svc.name)
        target.start(svc.name)
        wait_healthy_sync(platform, svc, svc.health.ready_within_s, target)
    _until("gateway back on the primary", lambda: _routed_to_primary(platform), 60, poll_s=1)
    _until("the drill's guards gone", lambda: not _guards_alive(), 120, poll_s=0.5)


def _guards_alive() -> list[int]:
    """Guard processes still running (one outliving its test could act during the next)."""
    alive = []
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        if proc.name.isdigit() and b"-m runbooks.framework.guard" in cmdline:
            alive.append(int(proc.name))
    return alive


def _kill_at_fault(runs: Path, platform: Platform, args: list[str], watched: str, state: str, sig: signal.Signals):
    """Start a runbook, send `sig` once `watched` is in `state`; returns (process, seconds to serving)."""
    pipes = subprocess.PIPE if sig == signal.SIGHUP else None
    proc = subprocess.Popen([INVOKE, *args], cwd=ROOT, env=_env(runs), stdout=pipes, stderr=pipes)
    target = target_for(platform)
    _until(f"{watched} {state}", lambda: target.state(watched).status == state or proc.poll() is not None, 120, 0.05)
    assert proc.poll() is None, "the runbook ended before its fault"
    if sig == signal.SIGHUP:  # the SSH session dropped: the terminal is gone, then the hang-up
        proc.stdout.close()
        proc.stderr.close()
    proc.send_signal(sig)
    took = _until(f"{watched} serving again", lambda: _serving(platform, watched), 180, 0.05)
    return proc, round(took, 2)


def _closed(runs: Path, runbook: str) -> dict[str, Any]:
    _until("run record closed", lambda: _records(runs, runbook)[-1]["status"] != "running", 120)
    return _records(runs, runbook)[-1]


SIGNALS = [signal.SIGHUP, signal.SIGTERM, signal.SIGKILL]


@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: s.name)
@pytest.mark.parametrize("mode", ["kill", "stop", "pause"])
def test_failover_runner_signalled_at_the_fault(runs: Path, whole: Platform, mode: str, sig: signal.Signals) -> None:
    args = ["runbook.failover-test", "--mode", mode, "--yes", "--duration", "30", "--fault-after", "3"]
    proc, took = _kill_at_fault(runs, whole, args, PRIMARY, FAULTED[mode], sig)
    proc.wait(timeout=180)
    record = _closed(runs, "failover-test")
    by = "guard" if sig == signal.SIGKILL else "runner"
    FIGURES.append({"runbook": "failover-test", "mode": mode, "signal": sig.name, "serving_after_s": took, "by": by})
    print(json.dumps(FIGURES[-1]))
    assert record["status"] == "rolled-back", record["error"]
    fault = [u for u in record["pending_undos"] if u["kind"] in ("start", "unpause")]
    assert fault and fault[0]["status"] == "done" and fault[0]["by"] == by
    assert all(u["status"] in ("done", "discharged", "not-needed") for u in record["pending_undos"])
    if sig == signal.SIGKILL:
        assert "runner pid" in record["error"]
        assert took <= fault[0]["deadline_s"]  # the guard's deadline for this undo
    else:
        assert sig.name in record["error"]
    _nothing_left_broken(whole)
    url = alertmanager_url(whole)
    if url:
        assert not silences_of(url, record["id"]), "a silence of the run is still active"


@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: s.name)
def test_restart_runner_signalled_at_the_stop(runs: Path, whole: Platform, sig: signal.Signals) -> None:
    args = ["runbook.restart", "--service", PRIMARY, "--yes"]
    proc, took = _kill_at_fault(runs, whole, args, PRIMARY, "exited", sig)
    proc.wait(timeout=300)
    record = _closed(runs, "restart")
    for name in [PRIMARY, *whole.dependents(PRIMARY)]:
        _until(f"{name} serving", lambda name=name: _serving(whole, name), 180)
    FIGURES.append({"runbook": "restart", "signal": sig.name, "serving_after_s": took})
    print(json.dumps(FIGURES[-1]))
    assert record["status"] == "rolled-back", record["error"]
    undo = next(u for u in record["pending_undos"] if u["kind"] == "start")
    assert undo["status"] == "done" and undo["by"] == ("guard" if sig == signal.SIGKILL else "runner")
    _nothing_left_broken(whole)


def _proxy_running() -> bool:
    return subprocess.run(["pgrep", "-f", "runbooks.faults.proxy"], capture_output=True).returncode == 0


def _redirected(platform: Platform) -> bool:
    chat = docker.from_env().containers.get(PRIMARY)
    return is_installed(container_pid(chat), platform.service(PRIMARY).port, PROXY_PORT)


# Every proxy mode under SIGKILL (the guard undoes it); the runner's own rollback under SIGHUP and
# SIGTERM on one mode that holds connections open and one that answers at once.
PROXY_KILLS = [(mode, signal.SIGKILL) for mode in PROXY_MODES] + [
    (mode, sig) for mode in ("stall", "rate-limit") for sig in (signal.SIGHUP, signal.SIGTERM)
]


@pytest.mark.parametrize(("mode", "sig"), PROXY_KILLS, ids=lambda v: v.name if isinstance(v, signal.Signals) else v)
def test_failover_runner_signalled_with_the_fault_proxy_in_front(
    runs: Path, whole: Platform, mode: str, sig: signal.Signals
) -> None:
    """The signal lands while the proxy faults the primary's traffic (the container itself stays
    running): the redirect comes out and the proxy ends, by the runner's rollback (SIGHUP, SIGTERM)
    or by the guard (SIGKILL)."""
    args = ["runbook.failover-test", "--mode", mode, "--yes", "--duration", "30", "--fault-after", "3"]
    pipes = subprocess.PIPE if sig == signal.SIGHUP else None
    proc = subprocess.Popen([INVOKE, *args], cwd=ROOT, env=_env(runs), stdout=pipes, stderr=pipes)
    _until("the fault proxy in front of the primary", lambda: _redirected(whole) or proc.poll() is not None, 120, 0.05)
    assert proc.poll() is None, "the drill ended before its fault"
    if sig == signal.SIGHUP:  # the SSH session dropped: the terminal is gone, then the hang-up
        proc.stdout.close()
        proc.stderr.close()
    proc.send_signal(sig)
    took = _until("redirect out and proxy gone", lambda: not _redirected(whole) and not _proxy_running(), 120, 0.05)
    proc.wait(timeout=120)
    record = _closed(runs, "failover-test")
    undo = next(u for u in record["pending_undos"] if u["kind"] == "remove-fault-proxy")
    by = "guard" if sig == signal.SIGKILL else "runner"
    figure = {"runbook": "failover-test", "mode": mode, "signal": sig.name, "clean_after_s": round(took, 2)}
    FIGURES.append({**figure, "undo_by": undo.get("by")})
    print(json.dumps(FIGURES[-1]))
    assert record["status"] == "rolled-back", record["error"]
    assert ("runner pid" if sig == signal.SIGKILL else sig.name) in record["error"]
    assert undo["status"] == "done" and undo["by"] == by and took <= undo["deadline_s"]
    assert all(u["status"] in ("done", "discharged", "not-needed") for u in record["pending_undos"])
    _until("the primary serving through the gateway", lambda: _routed_to_primary(whole), 60, poll_s=1)
    _nothing_left_broken(whole)


def test_runner_and_guard_killed_recover_restores_once(runs: Path, whole: Platform) -> None:
    env = _env(runs)
    args = ["runbook.failover-test", "--mode", "pause", "--yes", "--duration", "30", "--fault-after", "3"]
    proc = subprocess.Popen([INVOKE, *args], cwd=ROOT, env=env)
    target = target_for(whole)
    _until("primary paused", lambda: target.state(PRIMARY).status == "paused", 120, 0.05)
    os.kill(int(_records(runs, "failover-test")[-1]["guard"]["pid"]), signal.SIGKILL)
    proc.kill()
    proc.wait(timeout=10)
    assert target.state(PRIMARY).status == "paused"

    refused = _invoke(runs, *args)
    assert refused.returncode == 1 and "invoke runbook.recover" in " ".join(refused.stderr.split())
    assert target.state(PRIMARY).status == "paused"

    first = _invoke(runs, "runbook.recover", "--stack", whole.stack, "--yes", "--json")
    assert first.returncode == 0, first.stderr
    assert len(json.loads(first.stdout)["recovered"]) == 1
    assert _serving(whole, PRIMARY)
    second = _invoke(runs, "runbook.recover", "--stack", whole.stack, "--yes", "--json")
    assert second.returncode == 0 and json.loads(second.stdout) == {"stranded": [], "recovered": [], "failed": []}
    _nothing_left_broken(whole)


def test_secondary_broken_too_the_drill_halts_and_restores(runs: Path, whole: Platform) -> None:
    args = ["runbook.failover-test", "--mode", "stop", "--yes", "--duration", "60", "--fault-after", "3"]
    proc = subprocess.Popen([INVOKE, *args, "--hold", "40"], cwd=ROOT, env=_env(runs))
    target = target_for(whole)
    try:
        _until("primary stopped", lambda: _faulted_or_ended(proc, target), 120, 0.05)
        assert proc.poll() is None, f"the drill ended before its fault: {_records(runs, 'failover-test')[-1]['error']}"
        _until("secondary carries", lambda: "time_to_secondary_s" in _measurements(runs), 60)
        target.pause(SECONDARY)
        paused_at = time.time()
        assert proc.wait(timeout=180) == 1
    finally:
        target.unpause(SECONDARY)
    record = _records(runs, "failover-test")[-1]
    halt = record["measurements"]["halt"]
    interval = whole.drills.probe_interval_s
    took = round(halt["at_epoch"] - paused_at, 2)
    print(json.dumps({"halt": halt, "halted_after_s": took, "probe_interval_s": interval}))
    assert SECONDARY in halt["condition"] and took <= 2 * interval
    assert "halt:" in record["error"] and record["status"] == "rolled-back"
    assert _serving(whole, PRIMARY)
    _until("secondary serving", lambda: _serving(whole, SECONDARY), 60)
    _nothing_left_broken(whole)


def _faulted_or_ended(proc: subprocess.Popen, target: Any) -> bool:
    return proc.poll() is not None or target.state(PRIMARY).status == "exited"


def _measurements(runs: Path) -> dict[str, Any]:
    found = _records(runs, "failover-test")
    return found[-1]["measurements"] if found else {}


def _sink(platform: Platform) -> list[dict[str, Any]]:
    resp = httpx.get(platform.url(platform.service("alert-sink"), "/notifications"), timeout=5)
    resp.raise_for_status()
    return resp.json()


def _alerts(payloads: list[dict[str, Any]], service: str, names: tuple[str, ...]) -> list[dict[str, Any]]:
    return [
        a
        for p in payloads
        for a in p.get("alerts", [])
        if a["labels"].get("service") == service and a["labels"].get("alertname") in names
    ]


def test_drill_silences_its_own_alerts_only(runs: Path, whole: Platform) -> None:
    url = alertmanager_url(whole)
    if url is None:
        pytest.skip("this stack has no Alertmanager")
    before = len(_sink(whole))
    own = ("ServiceDown", "InferenceBackendDown")
    args = ["runbook.failover-test", "--mode", "stop", "--yes", "--duration", "30", "--fault-after", "3"]
    proc = subprocess.Popen([INVOKE, *args, "--hold", "75"], cwd=ROOT, env=_env(runs))
    target = target_for(whole)
    suppressed = False
    try:
        _until("primary stopped", lambda: _faulted_or_ended(proc, target), 120, 0.05)
        assert proc.poll() is None, f"the drill ended before its fault: {_records(runs, 'failover-test')[-1]['error']}"
        target.stop(OTHER, timeout_s=5)

        def other_delivered() -> bool:
            nonlocal suppressed
            alerts = httpx.get(f"{url}/api/v2/alerts", params={"filter": f'service="{PRIMARY}"'}, timeout=5).json()
            suppressed = suppressed or any(a["status"]["state"] == "suppressed" for a in alerts)
            return bool([a for a in _alerts(_sink(whole)[before:], OTHER, ("ServiceDown",)) if a["status"] == "firing"])

        _until("the other service's alert delivered", other_delivered, 90, poll_s=1)
        assert proc.poll() is None, "the drill ended before the other alert could be checked during it"
    finally:
        target.start(OTHER)
    assert proc.wait(timeout=300) == 0
    record = _records(runs, "failover-test")[-1]
    assert suppressed, "the drill's own alert never fired (suppressed) while the drill ran"
    assert _alerts(_sink(whole)[before:], PRIMARY, own) == [], "the drill paged for its own fault"
    assert record["measurements"]["silences"] and not silences_of(url, record["id"])
    expired = silences_of(url, record["id"], state="expired")
    assert [m["name"] for m in expired[0]["matchers"]] == ["alertname", "service"]
    assert record["id"] in expired[0]["comment"]
