"""The offline engine environment: local file backend, passphrase secrets, plugins from `.tools/bin`.

Why each variable:
- `PULUMI_BACKEND_URL=file://<state>` is what `pulumi login file://<state>` stores, without
  writing credentials anywhere: state never leaves the project's `.state/pulumi`.
- `PULUMI_HOME=<state>/home`: plugin cache, workspace settings and logs stay in the project too.
- Secrets use the passphrase provider; the passphrase comes from `PULUMI_CONFIG_PASSPHRASE_FILE`
  (preferred: a 0600 file, nothing in shell history) or `PULUMI_CONFIG_PASSPHRASE`, as Pulumi
  itself reads them. Neither set is an error here, before the engine would prompt.
- The project's virtualenv `bin` next on PATH: the language host built here (v3.79, see
  docs/engine.md) predates the CLI passing Pulumi.yaml's `virtualenv` option to it, and runs the
  first `python3` on PATH, which must be the one with the project's packages.
- `.tools/bin` first on PATH: the engine uses plugins found on PATH ("ambient" plugins), so
  `PULUMI_IGNORE_AMBIENT_PLUGINS` must stay unset; `PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION`
  makes a missing plugin an error instead of a download attempt.
- `PULUMI_SKIP_UPDATE_CHECK`: no call home for a newer CLI.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from infra.engine.tools import BIN_DIR, CLI
from infra.errors import Missing
from infra.spec.stackconfig import ROOT

STATE_DIR = ROOT / ".state" / "pulumi"
VENV_BIN = ROOT / ".venv" / "bin"
PASSPHRASE_VARS = ("PULUMI_CONFIG_PASSPHRASE_FILE", "PULUMI_CONFIG_PASSPHRASE")
OFFLINE = {
    "PULUMI_SKIP_UPDATE_CHECK": "true",
    "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
    # Set, not unset: the Automation API merges its env over os.environ, so only a value overrides.
    "PULUMI_IGNORE_AMBIENT_PLUGINS": "false",
}


class EngineUnavailable(Missing, RuntimeError):
    """The engine cannot run here; the message says what is missing and how to get it."""


def cli_path(bin_dir: Path = BIN_DIR) -> Path:
    """The built CLI; EngineUnavailable (saying how to build it) when it is not there."""
    path = CLI.binary(bin_dir)
    if not path.is_file():
        raise EngineUnavailable(
            f"{path} does not exist: build the engine tools with `invoke engine.build` (needs Go, see docs/engine.md)"
        )
    return path


def check_passphrase(environ: Mapping[str, str]) -> str:
    """Name of the passphrase variable in use; the passphrase itself is never read or printed here."""
    for name in PASSPHRASE_VARS:
        if environ.get(name):
            if name.endswith("_FILE") and not Path(environ[name]).is_file():
                raise EngineUnavailable(f"{name} points at {environ[name]}, which is not a file")
            return name
    raise EngineUnavailable(
        "no secrets passphrase: set PULUMI_CONFIG_PASSPHRASE_FILE to a file holding it (preferred) "
        "or PULUMI_CONFIG_PASSPHRASE; the stack's secrets are encrypted with it"
    )


def engine_env(
    environ: Mapping[str, str] | None = None, state_dir: Path = STATE_DIR, bin_dir: Path = BIN_DIR
) -> dict[str, str]:
    """The full environment for the CLI: offline, local state, tools first on PATH."""
    base = dict(os.environ if environ is None else environ)
    check_passphrase(base)
    state_dir.mkdir(parents=True, exist_ok=True)
    return (
        base
        | OFFLINE
        | {
            "PULUMI_BACKEND_URL": state_dir.resolve().as_uri(),
            "PULUMI_HOME": str((state_dir / "home").resolve()),
            "PATH": os.pathsep.join([str(bin_dir.resolve()), str(VENV_BIN), base.get("PATH", os.defpath)]),
        }
    )
