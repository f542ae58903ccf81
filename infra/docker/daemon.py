"""Find the Docker engine, or start one on a Debian machine that has none running.

Only the daemon this module starts is ever stopped by it (its pid is kept in `.state/dockerd.pid`);
a daemon someone else runs is left alone.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from infra.errors import Missing
from infra.spec.stackconfig import ROOT

DOCKER_CLI = "/usr/bin/docker"  # /usr/local/bin/docker on this machine is a different client
PID_FILE = ROOT / ".state" / "dockerd.pid"
DOCKERD_LOG = ROOT / ".state" / "logs" / "dockerd.log"
START_TIMEOUT_S = 60
HOW_TO_START = (
    "start one: `sudo systemctl start docker`, or `dockerd > /tmp/dockerd.log 2>&1 &` as root "
    "(Debian: `apt-get install -y docker.io` first)"
)


class EngineMissing(Missing, RuntimeError):
    """No Docker engine answers; the message says how to start one."""


def client_for(docker_host: str | None, timeout_s: float = 30) -> Any:
    """A docker SDK client for `docker_host` (None: $DOCKER_HOST or the local socket), not yet
    pinged; an ssh:// host goes through the ssh binary (the operator's keys and config)."""
    import docker

    if docker_host is None:
        return docker.from_env(timeout=int(timeout_s))
    return docker.DockerClient(
        base_url=docker_host, timeout=int(timeout_s), use_ssh_client=docker_host.startswith("ssh://")
    )


def docker_client(timeout: int = 120) -> Any:
    """A docker SDK client whose engine answered a ping, or EngineMissing."""
    import docker.errors

    try:
        client = client_for(None, timeout)
        client.ping()
    except (docker.errors.DockerException, OSError) as err:
        where = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
        raise EngineMissing(f"no Docker engine answers at {where} ({type(err).__name__}); {HOW_TO_START}") from None
    return client


def engine_answers() -> bool:
    try:
        docker_client(timeout=5)
    except EngineMissing:
        return False
    return True


def is_debian() -> bool:
    return Path("/etc/debian_version").is_file() and shutil.which("apt-get") is not None


def ensure_engine(say: Any = print) -> bool:
    """Make sure an engine answers; start one on Debian as root. True when this call started it."""
    if engine_answers():
        return False
    if os.environ.get("DOCKER_HOST"):
        raise EngineMissing(f"no Docker engine answers at DOCKER_HOST={os.environ['DOCKER_HOST']}; start it there")
    if not is_debian() or os.geteuid() != 0:
        raise EngineMissing(f"no Docker engine answers and this is not a Debian machine run as root; {HOW_TO_START}")
    if shutil.which("dockerd") is None:
        say("no dockerd here: installing Debian's docker.io (apt-get install -y docker.io)")
        subprocess.run(["apt-get", "install", "-y", "docker.io"], check=True, capture_output=True)
    DOCKERD_LOG.parent.mkdir(parents=True, exist_ok=True)
    with DOCKERD_LOG.open("ab") as log:
        proc = subprocess.Popen(["dockerd"], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    PID_FILE.write_text(f"{proc.pid}\n")
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise EngineMissing(f"dockerd exited with {proc.returncode}; see {DOCKERD_LOG}")
        if engine_answers():
            say(f"started dockerd in the background (pid {proc.pid}, log {DOCKERD_LOG}); `invoke stack.down` stops it")
            return True
        time.sleep(1)
    raise EngineMissing(f"dockerd (pid {proc.pid}) did not answer within {START_TIMEOUT_S} s; see {DOCKERD_LOG}")


def stop_started_engine(say: Any = print) -> bool:
    """Stop the dockerd that ensure_engine started (and only that one). True when one was stopped."""
    if not PID_FILE.is_file():
        return False
    pid = int(PID_FILE.read_text().strip() or 0)
    PID_FILE.unlink()
    comm = Path(f"/proc/{pid}/comm")
    if not comm.is_file() or comm.read_text().strip() != "dockerd":
        return False  # gone already, or the pid now belongs to something else
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    for _ in range(30):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            say(f"stopped the dockerd this project started (pid {pid})")
            return True
        time.sleep(1)
    say(f"dockerd (pid {pid}) still running 30 s after SIGTERM; stop it by hand")
    return False
