"""Which engine tools are built from which Go modules, and at which versions.

The versions live in one place, `tools/pulumi/go.mod`; this module reads them from there
(`go mod edit -json`, no network), so the build, the stamp and the docs cannot disagree.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

from infra.spec.stackconfig import ROOT

GO_MODULE_DIR = ROOT / "tools" / "pulumi"
# The provider has its own module graph: it does not compile against the CLI's pulumi/pkg/v3.
K8S_MODULE_DIR = GO_MODULE_DIR / "kubernetes"
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

    def stamp(self, module_version: str) -> str:
        """The version string linked into the binary for this module version."""
        return module_version if self.keep_v else module_version.removeprefix("v")

    def binary(self, bin_dir: Path = BIN_DIR) -> Path:
        return bin_dir / self.name


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
)
TOOLS: tuple[Tool, ...] = (CLI, KUBERNETES)

# Wanted, but not buildable from the module proxy this project reaches (see docs/engine.md).
# The build probes them each time and prints the proxy's answer, so the day they appear it says so.
LANGUAGE_HOST_MODULE = "github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3"


def required_versions(module_dir: Path = GO_MODULE_DIR) -> dict[str, str]:
    """Module path -> version, as required by the wrapper go.mod (parsed by go itself)."""
    out = subprocess.run(
        ["go", "mod", "edit", "-json"], cwd=module_dir, check=True, capture_output=True, text=True
    ).stdout
    return {req["Path"]: req["Version"] for req in json.loads(out).get("Require") or []}
