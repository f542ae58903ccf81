"""Which engine tools are built from which Go modules, and at which versions.

The versions live in one place, `tools/pulumi/go.mod`; this module reads them from there
(`go mod edit -json`, no network), so the build, the stamp and the docs cannot disagree.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from infra.spec.stackconfig import ROOT

GO_MODULE_DIR = ROOT / "tools" / "pulumi"
# The provider has its own module graph: it does not compile against the CLI's pulumi/pkg/v3.
K8S_MODULE_DIR = GO_MODULE_DIR / "kubernetes"
# The Python language host, from the last sdk/v3 that contained it (tools/pulumi/language-python/go.mod).
LANGUAGE_HOST_DIR = GO_MODULE_DIR / "language-python"
BIN_DIR = ROOT / ".tools" / "bin"
# The upstream Makefiles stamp versions through these linker variables:
# pulumi sdk/{go,python,nodejs}/Makefile and pkg (CLI): sdk/v3/go/common/version.Version;
# pulumi-kubernetes Makefile: provider/v4/pkg/version.Version.
SDK_VERSION_VAR = "github.com/pulumi/pulumi/sdk/v3/go/common/version.Version"
K8S_VERSION_VAR = "github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version"


@dataclass(frozen=True)
class Tool:
    """One binary in `.tools/bin`, built from `package` of `module`."""

    name: str
    module: str
    package: str
    version_var: str
    module_dir: Path = GO_MODULE_DIR  # the wrapper module (tools/pulumi/...) that requires it
    # The provider's main package embeds `schema-embed.json`, which upstream makes with
    # `go generate` and does not publish: the build regenerates it from the module's schema.json.
    generated: bool = False
    # pulumi's goreleaser stamps the tag (`v3.x.y`); pulumi-kubernetes stamps `pulumictl get version` (`4.x.y`).
    keep_v: bool = True
    # Files of the module that must sit next to the binary (the language host runs its exec shim).
    companions: tuple[str, ...] = ()
    # (module pseudo-version, upstream version) pairs: a pseudo-version names a commit, not a release.
    commit_versions: tuple[tuple[str, str], ...] = ()
    # Module version -> release version, for modules whose tags are not the release's
    # (github.com/prometheus/prometheus v0.307.3 is Prometheus 3.7.3).
    release_of: Callable[[str], str] | None = None
    # Build tags, and CGO off: a static binary that runs in any image (the monitoring tools; the
    # engine tools keep Go's defaults, and their stamps stay as they were).
    tags: tuple[str, ...] = ()
    static: bool = False

    def stamp(self, module_version: str) -> str:
        """The version string linked into the binary for this module version."""
        known = dict(self.commit_versions)
        if module_version in known:
            return known[module_version]
        if self.release_of is not None:
            return self.release_of(module_version)
        return module_version if self.keep_v else module_version.removeprefix("v")

    def build_flags(self) -> dict[str, str]:
        """What the build does beyond `go build -ldflags`; empty for the engine tools."""
        flags = {"tags": ",".join(self.tags)} if self.tags else {}
        return flags | ({"CGO_ENABLED": "0"} if self.static else {})

    def binary(self, bin_dir: Path = BIN_DIR) -> Path:
        return bin_dir / self.name

    def x_flags(self, module_version: str) -> list[str]:
        """The `-X var=value` linker stamps for this module version (none without a version_var)."""
        return [f"{self.version_var}={self.stamp(module_version)}"] if self.version_var else []


CLI = Tool(
    name="pulumi",
    module="github.com/pulumi/pulumi/pkg/v3",
    package="github.com/pulumi/pulumi/pkg/v3/cmd/pulumi",
    version_var=SDK_VERSION_VAR,
)
KUBERNETES = Tool(
    name="pulumi-resource-kubernetes",
    module="github.com/pulumi/pulumi-kubernetes/provider/v4",
    package="github.com/pulumi/pulumi-kubernetes/provider/v4/cmd/pulumi-resource-kubernetes",
    version_var=K8S_VERSION_VAR,
    module_dir=K8S_MODULE_DIR,
    generated=True,
    keep_v=False,
    # Upstream's build (pulumictl) stamps an untagged commit `<next minor>-alpha.<commit unix time>`;
    # PyPI's pulumi-kubernetes 4.25.0a1768448096 (numbered by this commit's time) carries the same
    # version in its pulumi-plugin.json, so the SDK pin and the built provider agree exactly.
    commit_versions=(("v4.0.0-20260115033456-f47bc2d6f199", "4.25.0-alpha.1768448096"),),
)
LANGUAGE_HOST = Tool(
    name="pulumi-language-python",
    module="github.com/pulumi/pulumi/sdk/v3",
    package="github.com/pulumi/pulumi/sdk/v3/python/cmd/pulumi-language-python",
    version_var=SDK_VERSION_VAR,
    module_dir=LANGUAGE_HOST_DIR,
    companions=("python/cmd/pulumi-language-python-exec",),
)
TOOLS: tuple[Tool, ...] = (CLI, LANGUAGE_HOST, KUBERNETES)

# The language host's own module at the CLI's version: not served by the module proxy this
# project reaches (see docs/engine.md). The build probes it each time and prints the proxy's
# answer, so the day it appears the build says so.
LANGUAGE_HOST_MODULE = "github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3"


def required_versions(module_dir: Path = GO_MODULE_DIR) -> dict[str, str]:
    """Module path -> version, as required by the wrapper go.mod (parsed by go itself)."""
    out = subprocess.run(
        ["go", "mod", "edit", "-json"], cwd=module_dir, check=True, capture_output=True, text=True
    ).stdout
    return {req["Path"]: req["Version"] for req in json.loads(out).get("Require") or []}
