"""Where the runbooks find Qdrant, how they retry, and what an operator sees when it is not there."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from infra.spec import load_platform
from infra.spec.stackconfig import ROOT
from runbooks.qdrant.connection import Qdrant, RetryPolicy, qdrant_address
from runbooks.qdrant.errors import QdrantError, QdrantUnreachable


def test_address_comes_from_the_service_table(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("QDRANT_URL", raising=False)
    platform = load_platform("gpu-host")
    svc = platform.service("qdrant")
    assert qdrant_address(platform) == f"http://{platform.access_host}:{svc.published_port}"


def test_qdrant_url_overrides_the_table(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QDRANT_URL", "http://127.0.0.1:16333/")
    assert qdrant_address(load_platform("gpu-host")) == "http://127.0.0.1:16333"


def test_bad_qdrant_url_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QDRANT_URL", "localhost:6333")
    with pytest.raises(QdrantError, match=r"QDRANT_URL='localhost:6333' is not an http\(s\) URL"):
        qdrant_address(load_platform("gpu-host"))


def test_disabled_qdrant_says_how_to_reach_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("QDRANT_URL", raising=False)
    with pytest.raises(QdrantError, match=r"'qdrant' is not enabled in stack 'local'.*set QDRANT_URL"):
        qdrant_address(load_platform("local"))


def test_retries_follow_the_seed_knobs_then_name_the_address() -> None:
    platform = load_platform("gpu-host")
    assert RetryPolicy.from_tuning(platform.tuning) == RetryPolicy(3, 2, 10)  # seed 004 defaults
    calls = []

    def refused() -> None:
        import httpx

        calls.append(time.monotonic())
        raise httpx.ConnectError("[Errno 111] Connection refused")

    q = Qdrant("http://127.0.0.1:9", RetryPolicy(max_retries=2, min_wait_s=0.05, max_wait_s=0.1))
    with pytest.raises(QdrantUnreachable) as err:
        q.call("GET /readyz", refused)
    assert len(calls) == 3
    assert calls[1] - calls[0] >= 0.05  # waited between attempts
    assert "Qdrant at http://127.0.0.1:9 is unreachable: GET /readyz failed after 3 attempts" in str(err.value)


def test_client_errors_are_not_retried() -> None:
    import httpx

    calls = []

    def bad_request() -> None:
        calls.append(1)
        request = httpx.Request("GET", "http://q/collections/x")
        response = httpx.Response(404, json={"status": {"error": "Not found: Collection `x` doesn't exist!"}},
                                  request=request)  # fmt: skip
        response.raise_for_status()

    q = Qdrant("http://q", RetryPolicy(max_retries=3, min_wait_s=0, max_wait_s=0))
    with pytest.raises(QdrantError, match="answered 404: Not found: Collection `x` doesn't exist!"):
        q.call("get collection 'x'", bad_request)
    assert calls == [1]


def test_cli_error_is_one_line_and_exit_1(tmp_path: Path) -> None:
    """The real `invoke` entry point on the local stack (qdrant disabled, no QDRANT_URL): no traceback."""
    env = {k: v for k, v in os.environ.items() if k != "QDRANT_URL"} | {"INFEROPS_RUNS_DIR": str(tmp_path)}
    invoke = Path(sys.executable).with_name("invoke")
    done = subprocess.run([str(invoke), "runbook.qdrant-backup", "--stack", "local"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert "'qdrant' is not enabled in stack 'local'" in done.stderr and "QDRANT_URL" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
