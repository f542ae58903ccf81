"""Start and stop the local control plane: etcd, kube-apiserver, controller-manager, scheduler, kwok.

Everything lives in one state directory (`.state/kube/` for `invoke kube.up`, a tmp dir for the
tests): certificates, etcd's data, a kubeconfig, one log per process and `processes.json`
(pid and command line of what `up` started). Each process runs in its own session, so a Ctrl-C
in the operator's shell does not take the cluster down, and `down` stops exactly those pids: it
checks that /proc/<pid>/cmdline is still the command it started before signalling.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from infra.errors import Failed, Missing
from infra.kube.pki import Pki, load_pki, make_pki
from infra.kube.tools import APISERVER, BIN_DIR, CONTROLLER_MANAGER, ETCD, KWOK, SCHEDULER

__all__ = [
    "CONTEXT",
    "KWOK_STAGES",
    "ControlPlane",
    "KubeNotRunning",
    "KubeStartFailed",
    "is_ours",
]

CONTEXT = "inferops-local"
SERVICE_CIDR = "10.96.0.0/16"
POD_CIDR = "10.244.0.0/16"
# kwok's Stage configs, copied beside the binary by the build (KWOK.companions).
KWOK_STAGES = ("node-initialize.yaml", "node-heartbeat.yaml", "pod-ready.yaml", "pod-complete.yaml", "pod-delete.yaml")
READY_S = 90.0  # a cold API server on two shared cores is ready in a few seconds; generous bound
STOP_S = 20.0


class KubeStartFailed(Failed, RuntimeError):
    """A control-plane process exited or never became ready; the message carries its log's tail."""


class KubeNotRunning(Missing, RuntimeError):
    """No control plane recorded in the state directory (nothing to talk to or stop)."""


def free_port() -> int:
    """A loopback port nobody listens on now (the kernel picks it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ControlPlane:
    """One local control plane rooted at `state_dir`."""

    state_dir: Path
    bin_dir: Path = BIN_DIR
    say: Callable[[str], Any] = print
    ports: dict[str, int] = field(default_factory=dict)

    @property
    def kubeconfig(self) -> Path:
        return self.state_dir / "kubeconfig"

    @property
    def record(self) -> Path:
        return self.state_dir / "processes.json"

    @property
    def logs(self) -> Path:
        return self.state_dir / "logs"

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.ports['apiserver']}"

    # ---- start ----------------------------------------------------------------------------

    def up(self) -> None:
        """Start every process (etcd first, then the API server, then its clients); wait for /readyz."""
        if self.running():
            raise KubeStartFailed(f"a control plane is already running from {self.state_dir} (`invoke kube.down`)")
        self.state_dir.mkdir(parents=True, exist_ok=True)
        # A fresh cluster each time: the old etcd data was signed for the old keys and tokens.
        shutil.rmtree(self.state_dir / "etcd", ignore_errors=True)
        self.logs.mkdir(exist_ok=True)
        self.ports = {"etcd": free_port(), "etcd-peer": free_port(), "apiserver": free_port()}
        pki = make_pki(self.state_dir / "pki")
        self._write_kubeconfigs(pki)
        self.record.write_text(json.dumps({"ports": self.ports, "processes": {}}, indent=1))
        try:
            self.spawn("etcd", self._etcd_args())
            self.spawn("kube-apiserver", self._apiserver_args(pki))
            self._wait_ready(pki)
            self.spawn("kube-controller-manager", self._controller_manager_args(pki))
            self.spawn("kube-scheduler", self._scheduler_args())
            self.spawn("kwok", self._kwok_args())
        except BaseException:
            self.down()
            raise

    def _etcd_args(self) -> list[str]:
        client = f"http://127.0.0.1:{self.ports['etcd']}"
        peer = f"http://127.0.0.1:{self.ports['etcd-peer']}"
        return [
            str(ETCD.binary(self.bin_dir)),
            "--name=local",
            f"--data-dir={self.state_dir / 'etcd'}",
            f"--listen-client-urls={client}",
            f"--advertise-client-urls={client}",
            f"--listen-peer-urls={peer}",
            f"--initial-advertise-peer-urls={peer}",
            f"--initial-cluster=local={peer}",
            # A throwaway cluster on a shared disk: fsync would only make every write slow.
            "--unsafe-no-fsync",
            "--log-level=warn",
        ]

    def _apiserver_args(self, pki: Pki) -> list[str]:
        return [
            str(APISERVER.binary(self.bin_dir)),
            f"--etcd-servers=http://127.0.0.1:{self.ports['etcd']}",
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            f"--secure-port={self.ports['apiserver']}",
            f"--tls-cert-file={pki.serving_cert}",
            f"--tls-private-key-file={pki.serving_key}",
            f"--client-ca-file={pki.ca}",
            f"--token-auth-file={pki.token_file}",
            "--authorization-mode=RBAC",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={pki.sa_pub}",
            f"--service-account-signing-key-file={pki.sa_key}",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--allow-privileged=true",
            "--profiling=false",
        ]

    def _controller_manager_args(self, pki: Pki) -> list[str]:
        kubeconfig = self.state_dir / "controller-manager.kubeconfig"
        return [
            str(CONTROLLER_MANAGER.binary(self.bin_dir)),
            f"--kubeconfig={kubeconfig}",
            f"--authentication-kubeconfig={kubeconfig}",
            f"--authorization-kubeconfig={kubeconfig}",
            # kubeadm's way: each controller acts with its own service account's token.
            "--use-service-account-credentials=true",
            f"--service-account-private-key-file={pki.sa_key}",
            f"--root-ca-file={pki.ca}",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            # kwok's node-heartbeat stage beats every 20 s plus up to 25 s of jitter: past the default
            # 50 s grace a node could flip to Unknown between two beats. Real kubelets beat every 10 s.
            "--node-monitor-grace-period=5m",
            "--leader-elect=false",
            "--secure-port=0",
        ]

    def _scheduler_args(self) -> list[str]:
        kubeconfig = self.state_dir / "scheduler.kubeconfig"
        return [
            str(SCHEDULER.binary(self.bin_dir)),
            f"--kubeconfig={kubeconfig}",
            f"--authentication-kubeconfig={kubeconfig}",
            f"--authorization-kubeconfig={kubeconfig}",
            "--leader-elect=false",
            "--secure-port=0",
        ]

    def _kwok_args(self) -> list[str]:
        stages = [f"--config={self.bin_dir / name}" for name in KWOK_STAGES]
        return [
            str(KWOK.binary(self.bin_dir)),
            f"--kubeconfig={self.state_dir / 'kwok.kubeconfig'}",
            *stages,
            # Only the nodes `kube.up` creates (annotated), never a real kubelet's node.
            "--manage-all-nodes=false",
            "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
            f"--cidr={POD_CIDR}",
            "--node-ip=127.0.0.1",
            "--server-address=",
        ]

    def _write_kubeconfigs(self, pki: Pki) -> None:
        """The operator's kubeconfig (admin) and one per component, all with the CA and a token."""
        for path, user in (
            (self.kubeconfig, "admin"),
            (self.state_dir / "controller-manager.kubeconfig", "system:kube-controller-manager"),
            (self.state_dir / "scheduler.kubeconfig", "system:kube-scheduler"),
            (self.state_dir / "kwok.kubeconfig", "kwok"),
        ):
            path.touch(mode=0o600)
            path.write_text(yaml.safe_dump(kubeconfig_doc(self.server, pki, user)))

    def spawn(self, name: str, args: list[str]) -> None:
        """Start one process in its own session, its output in logs/<name>.log, its pid recorded."""
        binary = Path(args[0])
        if not binary.is_file():
            raise Missing(f"{binary} is not built: run `invoke kube.build` (docs/eks.md)")
        log = (self.logs / f"{name}.log").open("ab")
        proc = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        _exec_settled(proc, args)
        data = json.loads(self.record.read_text())
        data["processes"][name] = {"pid": proc.pid, "cmdline": args}
        self.record.write_text(json.dumps(data, indent=1))
        self.say(f"{name}: started (pid {proc.pid}, log {self.logs / f'{name}.log'})")

    def _wait_ready(self, pki: Pki) -> None:
        """Poll /readyz until it answers ok; fail at once when etcd or the API server has exited."""
        context = ssl.create_default_context(cafile=str(pki.ca))
        request = urllib.request.Request(
            f"{self.server}/readyz", headers={"Authorization": f"Bearer {pki.tokens['admin']}"}
        )
        deadline = time.monotonic() + READY_S
        last = "no answer yet"
        while time.monotonic() < deadline:
            for name in ("etcd", "kube-apiserver"):
                if not self._alive(name):
                    raise KubeStartFailed(f"{name} exited while starting:\n{self.tail(name)}")
            try:
                with urllib.request.urlopen(request, context=context, timeout=5) as resp:
                    if resp.status == 200:
                        self.say(f"kube-apiserver: ready at {self.server}")
                        return
            except (urllib.error.URLError, OSError) as err:
                last = str(err)
            time.sleep(0.25)
        raise KubeStartFailed(f"kube-apiserver not ready after {READY_S:g} s ({last}):\n{self.tail('kube-apiserver')}")

    # ---- inspect and stop -------------------------------------------------------------------

    def processes(self) -> dict[str, dict[str, Any]]:
        if not self.record.is_file():
            return {}
        data = json.loads(self.record.read_text())
        self.ports = data.get("ports", {})
        return data.get("processes", {})

    def _alive(self, name: str) -> bool:
        entry = self.processes().get(name)
        return entry is not None and is_ours(entry["pid"], entry["cmdline"])

    def running(self) -> bool:
        """Whether any process this state directory started is still running."""
        return any(is_ours(p["pid"], p["cmdline"]) for p in self.processes().values())

    def status(self) -> dict[str, str]:
        """name -> 'running (pid N)' or 'stopped' for each process `up` started."""
        return {
            name: f"running (pid {p['pid']})" if is_ours(p["pid"], p["cmdline"]) else "stopped"
            for name, p in self.processes().items()
        }

    def pki(self) -> Pki:
        if not (self.state_dir / "pki" / "tokens.csv").is_file():
            raise KubeNotRunning(f"no control plane in {self.state_dir}: run `invoke kube.up`")
        return load_pki(self.state_dir / "pki")

    def tail(self, name: str, lines: int = 20) -> str:
        path = self.logs / f"{name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.is_file() else "(no log)"

    def down(self) -> list[str]:
        """Stop what `up` started, clients first, etcd last; returns the names it stopped."""
        stopped = []
        for name, entry in reversed(list(self.processes().items())):
            if _stop(entry["pid"], entry["cmdline"]):
                stopped.append(name)
        if self.record.is_file():
            self.record.unlink()
        return stopped


def kubeconfig_doc(server: str, pki: Pki, user: str) -> dict[str, Any]:
    """A kubeconfig with one cluster (CA embedded), one user (bearer token) and CONTEXT."""
    import base64

    ca = base64.b64encode(pki.ca.read_bytes()).decode()
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": CONTEXT, "cluster": {"server": server, "certificate-authority-data": ca}}],
        "users": [{"name": user, "user": {"token": pki.tokens[user]}}],
        "contexts": [{"name": CONTEXT, "context": {"cluster": CONTEXT, "user": user}}],
        "current-context": CONTEXT,
    }


def _exec_settled(proc: subprocess.Popen[bytes], cmdline: list[str], within_s: float = 10) -> None:
    """Until /proc shows the new program's command line (or it has exited). Popen returns once the
    exec has begun, a moment before the kernel sets the new argv up: a check in that window reads
    an empty command line and takes a starting process for a dead one (it happened on a loaded
    machine: the API server was left running alone, its etcd stopped as if the start had failed)."""
    deadline = time.monotonic() + within_s
    while not is_ours(proc.pid, cmdline) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)


def is_ours(pid: int, cmdline: list[str]) -> bool:
    """The pid runs the command `up` started (a recycled pid of another program is not ours)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return raw.split(b"\0")[: len(cmdline)] == [a.encode() for a in cmdline]


def _stop(pid: int, cmdline: list[str]) -> bool:
    """SIGTERM the process group `up` created, SIGKILL it if it outlives STOP_S; True if it ran."""
    if not is_ours(pid, cmdline):
        return False
    os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_S
    while is_ours(pid, cmdline) and time.monotonic() < deadline:
        _reap(pid)
        time.sleep(0.1)
    if is_ours(pid, cmdline):
        os.killpg(pid, signal.SIGKILL)
    _reap(pid)
    return True


def _reap(pid: int) -> None:
    """Collect the exit status when the process is our child (else it lingers as a zombie)."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
