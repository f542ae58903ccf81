"""runbook.daily-check on the live stack (`invoke stack.up` first): `pytest -m live tests/live`.

Read-only: it only inspects containers, reads logs, GETs health endpoints and queries the stack's
real Prometheus (which proves the alert rules' queries it borrows are valid PromQL there).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from runbooks.targets import Target, target_for
from tests.support.live import INVOKE, ROOT, STACK

pytestmark = pytest.mark.live


def serving(target: Target, name: str) -> bool:
    st = target.state(name)
    return st.serving and not st.restart_count


def test_daily_check_on_the_live_stack(platform, tmp_path: Path) -> None:
    env = {**os.environ, "INFEROPS_RUNS_DIR": str(tmp_path)}
    target = target_for(platform)
    before = {svc.name: serving(target, svc.name) for svc in platform.enabled()}
    proc = subprocess.run(
        [INVOKE, "runbook.daily-check", "--stack", STACK, "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    record = json.loads(proc.stdout)
    report = record["measurements"]["daily_check"]
    lines = {(f["check"], f["subject"]): f for f in report["findings"]}
    # cross-check with the engine's own view, read independently before and after the run (other
    # live tests may have a service paused or stopped: the verdict must say so, not assume all is
    # well). Docker's health status can turn during the run (a service an earlier test restarted
    # is "starting" until its next health check): then either verdict is true to its moment.
    for svc in platform.enabled():
        line = lines[("containers", svc.name)]
        now = {before[svc.name], serving(target, svc.name)}
        assert (line["verdict"] == "ok") in now, (line, target.state(svc.name))
        assert lines[("health", svc.name)]["verdict"] in ("ok", "warn", "fail")
        assert ("error-logs", svc.name) in lines
    assert any(f["check"] == "disk" and f["data"].get("what") == "docker data root" for f in report["findings"])
    # the stack's own Prometheus answered the SLO queries (n/a without traffic; never a query error)
    if platform.services["prometheus"].enabled:
        assert report["prometheus"] == platform.url(platform.service("prometheus"))
        assert all(f["verdict"] in ("ok", "warn", "fail", "n/a") for f in report["findings"] if f["check"] == "slo")
        assert not any("does not answer" in f["detail"] or "failed:" in f["detail"] for f in report["findings"])
    assert proc.returncode == (1 if report["counts"]["fail"] else 0), proc.stderr
    assert list(tmp_path.glob("*-daily-check-*.json")), "no run record written"
