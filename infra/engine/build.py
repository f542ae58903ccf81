"""Build the engine tools from Go modules into `.tools/bin`, cached by version.

Why a build and not a download: the Pulumi CLI and its plugins normally arrive as release
binaries, which this network cannot fetch; the Go module proxy is reachable. Each binary gets
a stamp file next to it naming the module version it was built from; a second run with the same
versions finds the stamps and returns at once. Builds run under `nice` (shared cores).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from infra.engine.tools import (
    BIN_DIR,
    GO_MODULE_DIR,
    LANGUAGE_HOST,
    LANGUAGE_HOST_MODULE,
    SDK_VERSION_VAR,
    TOOLS,
    Tool,
)
from infra.errors import Failed, Missing

# Files of the provider's main package that upstream's `go generate` turns into the embedded ones.
PROVIDER_MAIN_FILES = ("main.go", "generate.go", "schema.json", "terraform-mapping.json")
NICE = ("nice", "-n", "15")


class GoMissing(Missing, RuntimeError):
    """Go is absent or too old for the wrapper module: nothing can be built."""


class EngineBuildFailed(Failed, RuntimeError):
    """A `go` command failed; the message carries go's own stderr."""


@dataclass(frozen=True)
class Built:
    """What one build produced (or found cached)."""

    tool: Tool
    version: str
    minutes: float
    size_bytes: int
    cached: bool

    def line(self) -> str:
        how = "cached" if self.cached else f"built in {self.minutes:.1f} min"
        return f"{self.tool.name} {self.version}: {how}, {self.size_bytes / 2**20:.0f} MiB"


def go_env() -> dict[str, str]:
    """The process env plus `-mod=mod`: the wrapper module resolves its graph on first use."""
    env = dict(os.environ)
    flags = env.get("GOFLAGS", "")
    if "-mod=" not in flags:
        env["GOFLAGS"] = f"{flags} -mod=mod".strip()
    return env


def wanted_go(module_dir: Path = GO_MODULE_DIR) -> str:
    """The `go` line of the wrapper go.mod (the CLI module needs at least this)."""
    for line in (module_dir / "go.mod").read_text().splitlines():
        if line.startswith("go "):
            return line.split()[1]
    raise GoMissing(f"{module_dir / 'go.mod'} has no `go` line")


def check_go(module_dir: Path = GO_MODULE_DIR) -> str:
    """`go version` output; raises GoMissing saying exactly what to install otherwise."""
    need = wanted_go(module_dir)
    go = shutil.which("go")
    if go is None:
        raise GoMissing(
            f"Go is not installed (no `go` on PATH). The engine tools (Pulumi CLI, Kubernetes provider) are "
            f"built from Go modules and need Go >= {need} (tools/pulumi/go.mod) and the Go module proxy. "
            "Install Go from https://go.dev/dl/, then run `invoke engine.build`. Until then the engine tasks "
            "refuse to run and tests/engine is skipped; the mock-based unit tests are unaffected."
        )
    return subprocess.run([go, "version"], check=True, capture_output=True, text=True).stdout.strip()


def stamp_path(tool: Tool, bin_dir: Path) -> Path:
    return bin_dir / f".{tool.name}.stamp.json"


def wanted_stamp(tool: Tool, version: str, go_version: str) -> dict[str, str]:
    stamp = {"module": tool.module, "version": version, "stamp": tool.stamp(version), "go": go_version}
    return stamp | tool.build_flags()


def is_cached(tool: Tool, stamp: dict[str, str], bin_dir: Path) -> bool:
    """The binary exists and was built from exactly this module version with this Go."""
    path = stamp_path(tool, bin_dir)
    companions = [bin_dir / Path(rel).name for rel in tool.companions]
    if not tool.binary(bin_dir).is_file() or not path.is_file() or not all(c.is_file() for c in companions):
        return False
    try:
        return json.loads(path.read_text()) == stamp
    except json.JSONDecodeError:
        return False


def run_go(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    """Run a go command niced; on failure raise with go's own stderr (the exact failure)."""
    proc = subprocess.run([*NICE, "go", *args], cwd=cwd, env=env or go_env(), capture_output=True, text=True)
    if proc.returncode != 0:
        # `go mod download -json` reports its error in the JSON on stdout, the rest on stderr.
        detail = proc.stderr.strip() or proc.stdout.strip()
        command = f"go {' '.join(args)}"
        raise EngineBuildFailed(f"engine build failed: `{command}` in {cwd} exited {proc.returncode}:\n{detail}")
    return proc.stdout


def module_dir_of(module: str, version: str, cwd: Path) -> Path:
    """Download a module (if needed) and return its read-only directory in the module cache."""
    info = json.loads(run_go(["mod", "download", "-json", f"{module}@{version}"], cwd))
    return Path(info["Dir"])


def generate_provider_main(tool: Tool, version: str, module_dir: Path) -> str:
    """Copy the provider's main package into the wrapper and run upstream's generate.go there.

    Returns the package path (relative to the wrapper module) to build.
    """
    src = module_dir_of(tool.module, version, module_dir) / "cmd" / tool.name
    gen = module_dir / "gen" / tool.name
    shutil.rmtree(gen, ignore_errors=True)
    gen.mkdir(parents=True)
    for name in PROVIDER_MAIN_FILES:
        shutil.copyfile(src / name, gen / name)
    env = go_env() | {"VERSION": tool.stamp(version)}
    run_go(["run", "generate.go"], cwd=gen, env=env)
    return f"./gen/{tool.name}"


def copy_companions(tool: Tool, version: str, module_dir: Path, bin_dir: Path) -> None:
    """Files the binary needs beside it, from the module (read-only in the cache: copied executable)."""
    if not tool.companions:
        return
    source = module_dir_of(tool.module, version, module_dir)
    for rel in tool.companions:
        dest = bin_dir / Path(rel).name
        dest.unlink(missing_ok=True)
        shutil.copyfile(source / rel, dest)
        dest.chmod(0o755)


def build_tool(tool: Tool, version: str, go_version: str, module_dir: Path, bin_dir: Path) -> Built:
    """Build one tool unless its stamp says this version is already there."""
    stamp = wanted_stamp(tool, version, go_version)
    binary = tool.binary(bin_dir)
    if is_cached(tool, stamp, bin_dir):
        return Built(tool, version, 0.0, binary.stat().st_size, cached=True)
    started = time.monotonic()
    package = generate_provider_main(tool, version, module_dir) if tool.generated else tool.package
    ldflags = " ".join(["-s -w", *(f"-X {flag}" for flag in tool.x_flags(version))])
    bin_dir.mkdir(parents=True, exist_ok=True)
    tags = ["-tags", ",".join(tool.tags)] if tool.tags else []
    env = go_env() | ({"CGO_ENABLED": "0"} if tool.static else {})
    run_go(["build", *tags, "-ldflags", ldflags, "-o", str(binary), package], cwd=module_dir, env=env)
    copy_companions(tool, version, module_dir, bin_dir)
    stamp_path(tool, bin_dir).write_text(json.dumps(stamp, indent=1) + "\n")
    return Built(tool, version, (time.monotonic() - started) / 60, binary.stat().st_size, cached=False)


def probe_language_host(version: str, module_dir: Path = GO_MODULE_DIR) -> str | None:
    """None when the Python language host module can be fetched; else the proxy's answer."""
    proc = subprocess.run(
        ["go", "mod", "download", "-json", f"{LANGUAGE_HOST_MODULE}@{version}"],
        cwd=module_dir,
        env=go_env(),
        capture_output=True,
        text=True,
    )
    if proc.returncode == 0:
        return None
    try:
        return str(json.loads(proc.stdout)["Error"]).strip()
    except (json.JSONDecodeError, KeyError):
        return (proc.stderr or proc.stdout).strip()


def build_tools(tools: Sequence[Tool], bin_dir: Path, report: Callable[[str], None] = print) -> list[Built]:
    """Build each tool at the version its own wrapper go.mod requires (shared by infra/kube/build.py)."""
    from infra.engine.tools import required_versions

    go_version = check_go(tools[0].module_dir)
    built: list[Built] = []
    for tool in tools:
        version = required_versions(tool.module_dir)[tool.module]
        report(f"{tool.name} {version}: checking the cache, building if needed (nice -n 15) ...")
        result = build_tool(tool, version, go_version, tool.module_dir, bin_dir)
        report(result.line())
        built.append(result)
    return built


def build_all(bin_dir: Path = BIN_DIR, report: Callable[[str], None] = print) -> list[Built]:
    """Build every tool of TOOLS at the version its wrapper go.mod requires."""
    from infra.engine.tools import required_versions

    built = build_tools(TOOLS, bin_dir, report)
    sdk = required_versions(GO_MODULE_DIR)[SDK_VERSION_VAR.split("/go/")[0]]
    problem = probe_language_host(sdk, GO_MODULE_DIR)
    if problem:
        report(
            f"{LANGUAGE_HOST_MODULE}@{sdk}: not served here ({problem}); "
            f"{LANGUAGE_HOST.name} was built from {LANGUAGE_HOST.module} instead (docs/engine.md)."
        )
    return built
