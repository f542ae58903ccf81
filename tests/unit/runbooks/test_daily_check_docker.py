"""runbook.daily-check on the real Docker engine: busybox containers as services (`dailytest-*`),
one logging CUDA errors with a named volume mounted, one that exited; the whole runbook through
`execute`, its table, record and exit code. Never touches the stack's own containers.
"""

from __future__ import annotations

import contextlib
import shutil
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from infra.render.containers import labels
from infra.spec import Platform, platform_from_config
from infra.spec.daily_check import DailyCheck
from runbooks.daily import disk, services
from runbooks.daily_check import runbook as daily_check
from runbooks.framework import ExitCode, Options, execute
from runbooks.framework.display import Display
from runbooks.targets.docker_target import DockerTarget
from tests.doubles.serving import free_port
from tests.unit.runbooks.conftest import TEST_STACK
from tests.unit.runbooks.dockerfix import docker_or_skip, ensure_image

CHAT_LOG = (
    "echo 'llama server listening at http://0.0.0.0:8080'; "
    "echo 'ERROR: CUDA error: out of memory at 0x7f3a'; "
    "echo 'error: CUDA error: out of memory at 0x7f3b' >&2; "
    "echo 'srv  log_server_r: request: GET /health 127.0.0.1 200'"
)
SERVE = "mkdir -p /www && echo ok > /www/health && exec httpd -f -p 8080 -h /www"


def _platform(stack: str) -> Platform:
    """Only the three llama services (and no monitoring): every enabled service has a container here."""
    off = ("api-gateway", "prometheus", "alertmanager")
    raw = {**TEST_STACK, "services": {**TEST_STACK["services"], **{n: {"enabled": False} for n in off}}}
    return platform_from_config(stack, raw, source="tests/unit/runbooks/test_daily_check_docker.py")


@pytest.fixture(scope="module")
def stack() -> Iterator[tuple[Platform, dict[str, Any]]]:
    client = docker_or_skip()
    image = ensure_image(client)
    name = f"dailytest-{uuid.uuid4().hex[:8]}"
    platform = _platform(name)
    volume = client.volumes.create(f"{name}-data")
    scripts = {
        "inference-chat": f"{CHAT_LOG}; {SERVE}",
        "inference-code": SERVE,
        "embedding": "echo fatal error; exit 3",
    }
    ports = {n: free_port() for n in scripts}
    created = []
    try:
        for svc_name, script in scripts.items():
            svc = platform.service(svc_name)
            created.append(
                client.containers.run(
                    image,
                    ["sh", "-c", script],
                    name=f"{name}-{svc_name}",
                    labels=labels(platform, svc),
                    ports={"8080/tcp": ("127.0.0.1", ports[svc_name])},
                    volumes={volume.name: {"bind": "/data", "mode": "rw"}} if svc_name == "inference-chat" else None,
                    stop_signal="SIGKILL",
                    detach=True,
                )
            )
        for c in created:  # the exited one must have exited, the others must serve
            c.wait(timeout=10) if c.name.endswith("embedding") else _wait_http(ports[c.name.split("-", 2)[2]])
        svcs = {
            n: s.model_copy(update={"host_port": ports[n], "health": s.health.model_copy(update={"timeout_s": 1.0})})
            if n in ports
            else s
            for n, s in platform.services.items()
        }
        yield platform.model_copy(update={"services": svcs}), {"volume": volume, "client": client}
    finally:
        for c in created:
            with contextlib.suppress(Exception):
                c.remove(force=True)
        with contextlib.suppress(Exception):
            volume.remove(force=True)


def _wait_http(port: int, timeout_s: float = 10) -> None:
    import time

    import httpx

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=0.5).status_code == 200:
                return
        time.sleep(0.05)
    raise AssertionError(f"busybox httpd on port {port} did not answer")


def test_containers_like_docker_ps(stack: tuple[Platform, dict]) -> None:
    platform, _ = stack
    found = {f.subject: f for f in services.containers(DockerTarget(platform), platform.enabled())}
    assert found["inference-chat"].verdict == "ok" and found["inference-chat"].data["status"] == "running"
    assert found["inference-code"].verdict == "ok"
    assert found["embedding"].verdict == "fail" and found["embedding"].detail == "exited (3)"


def test_error_logs_counted_per_service_with_top_lines(stack: tuple[Platform, dict]) -> None:
    platform, _ = stack
    found = {
        f.subject: f
        for f in services.error_logs(DockerTarget(platform), platform.enabled(), "error", 24, top=3, max_lines=1000)
    }
    chat = found["inference-chat"]
    assert chat.verdict == "warn" and (chat.data["lines"], chat.data["matches"]) == (4, 2)  # stdout and stderr
    # one group: the lines differ only in case and address (which comes first is docker's interleaving)
    (top,) = chat.data["top"]
    assert top["count"] == 2 and top["line"].lower().startswith("error: cuda error: out of memory at 0x7f3")
    assert found["inference-code"].verdict == "ok" and found["inference-code"].data["matches"] == 0
    assert found["embedding"].data["matches"] == 1  # an exited container's logs are read too


def test_a_window_before_the_logs_finds_nothing(stack: tuple[Platform, dict]) -> None:
    platform, _ = stack
    target = DockerTarget(platform)
    # `--since` a moment in the future: docker returns no line, so nothing matches
    found = services.error_logs(target, [platform.service("inference-chat")], "error", -1 / 3600, 3, 1000)
    assert found[0].verdict == "ok" and found[0].data["lines"] == 0


def test_disk_of_the_data_root_and_the_mounted_volume(stack: tuple[Platform, dict], monkeypatch) -> None:
    platform, res = stack
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    volume = res["volume"]
    volume.reload()
    mountpoint = volume.attrs["Mountpoint"]
    root = res["client"].info()["DockerRootDir"]
    used = 100 * (1 - shutil.disk_usage(root).free / shutil.disk_usage(root).total)
    # thresholds around the real figure: the config decides the verdict
    for warn, fail, verdict in ((used - 1, 100, "warn"), (used - 2, used - 1, "fail"), (100, 100, "ok")):
        cfg = DailyCheck(disk_warn_pct=warn, disk_fail_pct=fail)
        found = {f.subject: f for f in disk.host_disks(platform, DockerTarget(platform), platform.enabled(), cfg)}
        assert found[root].verdict == verdict, (warn, fail, found[root].detail)
        assert mountpoint in found and f"volume {volume.name} (inference-chat)" in found[mountpoint].detail
    assert found[root].data["used_pct"] == pytest.approx(used, abs=0.5)


def test_remote_engine_disk_is_not_read_here(stack: tuple[Platform, dict]) -> None:
    platform, _ = stack
    remote = platform.model_copy(update={"docker_host": "ssh://ops@gpu-1"})
    (f,) = disk.host_disks(remote, None, [], remote.daily_check)
    assert f.verdict == "n/a" and "ssh://ops@gpu-1" in f.detail


def test_runbook_fails_on_the_exited_service_and_records_everything(stack: tuple[Platform, dict], monkeypatch) -> None:
    platform, _ = stack
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    opts = Options(stack=platform.stack)
    rec = execute(daily_check.build(platform, opts), opts, platform, display=Display(quiet=True))
    assert rec.exit_code == ExitCode.FAILED
    assert "containers embedding" in rec.error and "health embedding" in rec.error
    report = rec.measurements["daily_check"]
    assert report["verdict"] == "fail"
    checks = {(f["check"], f["subject"]): f["verdict"] for f in report["findings"]}
    assert checks[("containers", "inference-chat")] == "ok" and checks[("health", "inference-chat")] == "ok"
    assert checks[("error-logs", "inference-chat")] == "warn"
    assert checks[("gpu-memory", "-")] == "n/a" and checks[("cost", "-")] == "n/a" and checks[("pods", "-")] == "n/a"
    assert report["counts"]["fail"] == sum(1 for v in checks.values() if v == "fail") >= 2
    assert all(s.status == "ok" for s in rec.steps[:-1])  # every check ran despite the failures


def test_one_healthy_service_passes_and_strict_fails_on_warnings(stack: tuple[Platform, dict], monkeypatch) -> None:
    platform, _ = stack
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    calm = platform.model_copy(update={"daily_check": DailyCheck(disk_warn_pct=100, disk_fail_pct=100)})
    ok = Options(stack=platform.stack, service="inference-code")
    rec = execute(daily_check.build(calm, ok), ok, calm, display=Display(quiet=True))
    assert rec.exit_code == ExitCode.OK, rec.error
    assert rec.measurements["daily_check"]["counts"]["fail"] == 0
    strict = Options(stack=platform.stack, service="inference-chat", extra={"strict": True})
    rec = execute(daily_check.build(calm, strict), strict, calm, display=Display(quiet=True))
    assert rec.exit_code == ExitCode.FAILED and "error-logs inference-chat" in rec.error


def test_table_on_the_terminal(stack: tuple[Platform, dict], monkeypatch) -> None:
    platform, _ = stack
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    display = Display()
    display.console.record = True
    opts = Options(stack=platform.stack, service="inference-chat")
    execute(daily_check.build(platform, opts), opts, platform, display=display)
    text = display.console.export_text()
    assert f"daily check of stack {platform.stack!r}" in text
    assert "no GPU on this host" in text
    assert "2 x  ERROR: CUDA error: out of memory" in text or "2 x  error: CUDA error: out of memory" in text
