"""The control plane's binaries: which module and package each is built from.

Versions live only in the wrapper go.mods (`tools/kube/go.mod`, `tools/kube/kwok/go.mod`); the
build (infra/engine/build.py's machinery) reads them with `go mod edit -json`.
"""

from __future__ import annotations

from dataclasses import dataclass

from infra.engine.tools import BIN_DIR, Tool
from infra.spec.stackconfig import ROOT

__all__ = [
    "APISERVER",
    "BIN_DIR",
    "CONTROLLER_MANAGER",
    "ETCD",
    "KUBE_MODULE_DIR",
    "KUBE_TOOLS",
    "KWOK",
    "KWOK_MODULE_DIR",
    "SCHEDULER",
    "KubeTool",
]

KUBE_MODULE_DIR = ROOT / "tools" / "kube"
KWOK_MODULE_DIR = KUBE_MODULE_DIR / "kwok"
# hack/lib/version.sh in k8s.io/kubernetes stamps both packages with the same variables.
_KUBE_VERSION_PACKAGES = ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version")


@dataclass(frozen=True)
class KubeTool(Tool):
    """A Kubernetes binary: stamped the way upstream's hack/lib/version.sh does.

    `/version` (and so every client's server-version check, the Pulumi provider's among them)
    reads gitVersion/gitMajor/gitMinor; unstamped they say v0.0.0-master.
    """

    def x_flags(self, module_version: str) -> list[str]:
        major, minor = module_version.removeprefix("v").split(".")[:2]
        values = {"gitVersion": module_version, "gitMajor": major, "gitMinor": minor}
        return [f"{pkg}.{key}={value}" for pkg in _KUBE_VERSION_PACKAGES for key, value in values.items()]


def _kube(name: str) -> KubeTool:
    return KubeTool(
        name=name,
        module="k8s.io/kubernetes",
        package=f"k8s.io/kubernetes/cmd/{name}",
        version_var="k8s.io/component-base/version.gitVersion",
        module_dir=KUBE_MODULE_DIR,
    )


APISERVER = _kube("kube-apiserver")
CONTROLLER_MANAGER = _kube("kube-controller-manager")
SCHEDULER = _kube("kube-scheduler")
# etcd's version is a constant (go.etcd.io/etcd/api/v3/version.Version): nothing to stamp.
ETCD = Tool(
    name="etcd",
    module="go.etcd.io/etcd/server/v3",
    package="go.etcd.io/etcd/server/v3",
    version_var="",
    module_dir=KUBE_MODULE_DIR,
)
# kwok's release script (hack/releases.sh) stamps consts.Version without the `v`.
KWOK = Tool(
    name="kwok",
    module="sigs.k8s.io/kwok",
    package="sigs.k8s.io/kwok/cmd/kwok",
    version_var="sigs.k8s.io/kwok/pkg/consts.Version",
    module_dir=KWOK_MODULE_DIR,
    keep_v=False,
    # The Stage configs kwok needs (`--config`): nodes Ready and heart-beating, pods Running/Ready,
    # finished and deleted. Shipped in the module, not compiled in; copied beside the binary.
    companions=(
        "kustomize/stage/node/fast/node-initialize.yaml",
        "kustomize/stage/node/heartbeat/node-heartbeat.yaml",
        "kustomize/stage/pod/fast/pod-ready.yaml",
        "kustomize/stage/pod/fast/pod-complete.yaml",
        "kustomize/stage/pod/fast/pod-delete.yaml",
    ),
)
KUBE_TOOLS: tuple[Tool, ...] = (ETCD, APISERVER, CONTROLLER_MANAGER, SCHEDULER, KWOK)
