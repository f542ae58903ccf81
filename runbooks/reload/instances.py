"""Containers of one service during a reload: clone, detach, start, probe, warm up, attach, remove.

A new instance is created on the stack network, then taken off it before it starts: it loads
its model and answers its warm-up completions with no network at all (probes and completions
run inside it through `docker exec`), so the gateway cannot reach it before it is ready. Only
then is it attached with the service's DNS aliases.
"""

from __future__ import annotations

import contextlib
import json
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from infra.render.containers import LABEL_PREFIX
from runbooks.framework.errors import RunbookError

if TYPE_CHECKING:
    from docker import DockerClient
    from docker.models.containers import Container

COMPOSE_LABEL_PREFIX = "com.docker.compose."
RELOAD_LABEL = f"{LABEL_PREFIX}.reload-of"
POLL_S = 0.25


@dataclass(frozen=True)
class Warmup:
    latency_s: float
    server_ms: float | None  # llama-server's own prompt + generation time, when it reports it
    text: str


def aliases(attrs: dict[str, Any], network: str) -> list[str]:
    """The DNS aliases a container has (or was created with) on `network`, minus its short id."""
    net = (attrs.get("NetworkSettings", {}).get("Networks") or {}).get(network) or {}
    short = attrs.get("Id", "")[:12]
    out: list[str] = []
    for alias in net.get("Aliases") or []:
        if alias != short and alias not in out:
            out.append(alias)
    return out


def _binds(attrs: dict[str, Any]) -> list[str]:
    binds = []
    for m in attrs.get("Mounts") or []:
        source = m.get("Name") if m.get("Type") == "volume" else m.get("Source")
        if m.get("Type") in ("volume", "bind") and source:
            binds.append(f"{source}:{m['Destination']}:{'rw' if m.get('RW', True) else 'ro'}")
    return binds


def _healthcheck(config: dict[str, Any]) -> dict[str, Any] | None:
    hc = config.get("Healthcheck")
    if not hc:
        return None
    keys = {"Test": "test", "Interval": "interval", "Timeout": "timeout", "Retries": "retries"}
    out = {new: hc[old] for old, new in keys.items() if hc.get(old) is not None}
    if hc.get("StartPeriod"):
        out["start_period"] = hc["StartPeriod"]
    return out


def clone(
    client: DockerClient,
    old: dict[str, Any],
    *,
    name: str,
    command: tuple[str, ...],
    network: str,
    canonical: bool,
) -> Container:
    """A new container like `old` (image, env, mounts, GPUs, limits, health check) running `command`.

    `canonical=False` makes the reload's stand-in: no published ports (the old instance holds
    them), no compose labels (compose must not count it as the service), restart "no".
    `canonical=True` makes the service's own container (used when no compose project deployed
    it): the old one's name-independent settings, ports, restart policy and labels.
    """
    from docker.types import DeviceRequest

    cfg, host = old["Config"], old["HostConfig"]
    labels = dict(cfg.get("Labels") or {})
    if not canonical:
        labels = {k: v for k, v in labels.items() if not k.startswith(COMPOSE_LABEL_PREFIX)}
        labels[RELOAD_LABEL] = old["Name"].lstrip("/")
    ports = host.get("PortBindings") or {} if canonical else {}
    host_config = client.api.create_host_config(
        binds=_binds(old),
        port_bindings={p: [(b.get("HostIp") or "", b.get("HostPort")) for b in bs] for p, bs in ports.items()} or None,
        device_requests=[
            DeviceRequest(
                driver=d.get("Driver") or "",
                count=d.get("Count") or 0,
                device_ids=d.get("DeviceIDs"),
                capabilities=d.get("Capabilities"),
                options=d.get("Options"),
            )
            for d in host.get("DeviceRequests") or []
        ]
        or None,
        mem_limit=host.get("Memory") or None,
        nano_cpus=host.get("NanoCpus") or None,
        shm_size=host.get("ShmSize") or None,
        restart_policy=host.get("RestartPolicy") if canonical else {"Name": "no"},
    )
    networking = client.api.create_networking_config({network: client.api.create_endpoint_config()})
    created = client.api.create_container(
        image=cfg["Image"],
        command=list(command),
        name=name,
        entrypoint=cfg.get("Entrypoint"),
        environment=cfg.get("Env"),
        working_dir=cfg.get("WorkingDir") or None,
        user=cfg.get("User") or None,
        labels=labels,
        healthcheck=_healthcheck(cfg),
        stop_signal=cfg.get("StopSignal"),
        ports=list(ports) or None,
        host_config=host_config,
        networking_config=networking,
    )
    return client.containers.get(created["Id"])


def detach(client: DockerClient, container: Container, network: str) -> list[str]:
    """Take a created container off `network` before it starts; returns the aliases it had there."""
    container.reload()
    had = aliases(container.attrs, network)
    client.networks.get(network).disconnect(container)
    return had


def attach(client: DockerClient, container: Container, network: str, names: list[str]) -> str:
    """Put the container on `network` under `names` (DNS aliases); returns its address there."""
    client.networks.get(network).connect(container, aliases=names)
    container.reload()
    return container.attrs["NetworkSettings"]["Networks"][network]["IPAddress"]


def run_in(container: Container, argv: list[str]) -> tuple[int, str]:
    code, out = container.exec_run(argv, demux=False)
    return int(code if code is not None else -1), (out or b"").decode(errors="replace")


def _exited(container: Container) -> str | None:
    container.reload()
    if container.status in ("exited", "dead"):
        logs = container.logs(tail=15).decode(errors="replace").strip()
        code = container.attrs["State"].get("ExitCode")
        return f"{container.name} exited with code {code} while loading; last log lines:\n{logs}"
    return None


def wait_healthy(
    container: Container, probe: list[str], timeout_s: float, progress: Callable[[str], None] = lambda _: None
) -> float:
    """Seconds until `probe` (the service's own health command) succeeds inside the container.

    Fails at once when the process exits (a broken model file), with its last log lines.
    """
    import docker.errors

    t0 = time.monotonic()
    while True:
        dead = _exited(container)
        if dead:
            raise RunbookError(dead)
        try:
            code, _ = run_in(container, probe)
        except docker.errors.APIError as err:
            # The process exited between the state check and the exec (409 "is not running").
            raise RunbookError(_exited(container) or f"{container.name}: {err.explanation}") from None
        if code == 0:
            return time.monotonic() - t0
        waited = time.monotonic() - t0
        if waited > timeout_s:
            raise RunbookError(f"{container.name} not healthy within {timeout_s:g} s (probe {shlex.join(probe)})")
        progress(f"loading, {waited:.0f} s")
        time.sleep(POLL_S)


def completion_command(tool: str, port: int, max_tokens: int, timeout_s: float) -> list[str]:
    """A chat completion sent from inside the container with the HTTP tool its image has."""
    body = json.dumps(
        {
            "messages": [{"role": "user", "content": "Reply with one word: ok"}],
            "max_tokens": max_tokens,
            "temperature": 0,
        }
    )
    url = f"http://127.0.0.1:{port}/v1/chat/completions"
    if tool == "curl":
        return [
            "curl", "-sS", "--fail-with-body", "--max-time", str(int(timeout_s) + 1),
            "-H", "Content-Type: application/json", "-d", body, url,
        ]  # fmt: skip
    if tool == "wget":
        return [
            "wget", "-q", "-O", "-", "-T", str(int(timeout_s) + 1),
            "--header", "Content-Type: application/json", "--post-data", body, url,
        ]  # fmt: skip
    raise RunbookError(f"cannot send a warm-up completion with health tool {tool!r} (curl or wget needed)")


def warm_up(container: Container, command: list[str], budget_s: float) -> Warmup:
    """One real completion inside the instance; RunbookError when it fails or is over budget."""
    t0 = time.monotonic()
    code, out = run_in(container, command)
    latency = time.monotonic() - t0
    if code != 0:
        raise RunbookError(f"warm-up completion on {container.name} failed (exit {code}): {out.strip()[:300]}")
    try:
        answer = json.loads(out)
        text = answer["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise RunbookError(f"warm-up completion on {container.name} answered no completion: {out[:300]}") from None
    timings = answer.get("timings") or {}
    server_ms = None
    if "prompt_ms" in timings or "predicted_ms" in timings:
        server_ms = round(float(timings.get("prompt_ms", 0)) + float(timings.get("predicted_ms", 0)), 1)
    if latency > budget_s:
        raise RunbookError(
            f"warm-up completion on {container.name} took {latency:.2f} s, over the budget of {budget_s:g} s "
            "(inferops:reload.warmup_latency_budget_s)"
        )
    return Warmup(round(latency, 3), server_ms, str(text))


def process_args(container: Container) -> list[str]:
    """The argument list of the container's main process, read from /proc/1/cmdline inside it."""
    code, out = run_in(container, ["cat", "/proc/1/cmdline"])
    if code != 0:
        raise RunbookError(f"cannot read the command line of {container.name}: {out.strip()}")
    return [a for a in out.split("\0") if a]


def remove(container: Container, stop_timeout_s: int = 10) -> None:
    """Stop (SIGTERM, then SIGKILL after the timeout) and remove; a container already gone is fine."""
    import docker.errors

    with contextlib.suppress(docker.errors.NotFound):
        container.reload()
        if container.status == "running":
            container.stop(timeout=stop_timeout_s)
        container.remove(force=True)
