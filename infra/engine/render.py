"""The EKS program on the real engine with the real Kubernetes provider in render mode.

With `eks.render_yaml_to_directory` set in the stack config, the program gives its provider
pulumi-kubernetes' `renderYamlToDirectory`: the provider writes each object as YAML under the
directory (`0-crd/`, `1-manifest/`) instead of calling a cluster, so `up`, `preview` and
`destroy` run the whole engine (the CLI, the Python language host running `infra/__main__.py`,
diffs, state, secrets) with no cluster here.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from infra.spec.stackconfig import PROJECT, ROOT, stack_file

if TYPE_CHECKING:
    from pulumi import automation as auto

# The same marker the mock-engine render writes (infra.targets.k8s.render.REDACTED).
REDACTED = "REDACTED: pulumi config secret {project}:{key}"
RENDER_KEY = f"{PROJECT}:eks.render_yaml_to_directory"


def render_into(stack: auto.Stack, directory: Path) -> None:
    """Switch a (scratch) stack to render mode: its provider writes into `directory`."""
    from pulumi import automation as auto

    stack.set_config(RENDER_KEY, auto.ConfigValue(str(directory.resolve())), path=True)


def rendered_files(directory: Path) -> dict[str, Path]:
    """Rendered YAML files by name (`0-crd/…`, `1-manifest/…`)."""
    if not directory.is_dir():
        return {}
    return {str(p.relative_to(directory)): p for p in sorted(directory.rglob("*.yaml"))}


def without_secrets(text: str) -> str:
    """A stack file's text without its `encryptionsalt` and `secure:` values: what a project that
    brings its own passphrase can use (the operator's secrets are encrypted with theirs)."""
    import yaml

    doc = yaml.safe_load(text) or {}
    doc.pop("encryptionsalt", None)
    config = doc.get("config") or {}
    doc["config"] = {k: v for k, v in config.items() if not (isinstance(v, dict) and "secure" in v)}
    return yaml.safe_dump(doc, sort_keys=False)


def scratch_project(stack: str, directory: Path, keep_secrets: bool = False) -> Path:
    """A throwaway project that runs the real program: Pulumi.yaml and the stack file copied (so
    `stack init` and `config set` leave `stacks/` alone), `infra/` and `.venv` linked.

    `keep_secrets` keeps the stack's encrypted secrets (the operator's passphrase opens them);
    without it the copy has none, for a caller with a passphrase of its own.
    """
    (directory / "stacks").mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "Pulumi.yaml", directory / "Pulumi.yaml")
    text = stack_file(stack).read_text()
    (directory / "stacks" / stack_file(stack).name).write_text(text if keep_secrets else without_secrets(text))
    for name in ("infra", ".venv"):
        (directory / name).symlink_to(ROOT / name, target_is_directory=True)
    return directory


def render_with_engine(stack: str, out: Path, environ: Mapping[str, str] | None = None) -> dict[str, Path]:
    """`invoke stack.render` on the real engine: `up` of a scratch copy of the stack (scratch
    state too, so the real stack's state is untouched) with the provider rendering into `out`.

    Secrets the stack file holds are decrypted with the passphrase and written as Kubernetes
    Secrets need them; secrets it lacks are set to markers that name their config key.
    """
    from pulumi import automation as auto

    from infra.engine.ops import EngineCommandFailed, EngineStack, error_lines, open_stack
    from infra.engine.secrets import secret_keys_used
    from infra.spec import load_platform

    platform = load_platform(stack)
    out = out.resolve()
    shutil.rmtree(out, ignore_errors=True)
    with tempfile.TemporaryDirectory(prefix="inferops-render-") as tmp:
        project = scratch_project(stack, Path(tmp), keep_secrets=True)
        where = EngineStack(stack, project_dir=project, state_dir=project / "state", environ=environ)
        engine_stack = open_stack(where)
        render_into(engine_stack, out)
        have = engine_stack.get_all_config()
        for key in secret_keys_used(platform):
            if f"{PROJECT}:{key}" not in have:
                marker = REDACTED.format(project=PROJECT, key=key)
                engine_stack.set_config(f"{PROJECT}:{key}", auto.ConfigValue(marker, secret=True))
        try:
            engine_stack.up(on_output=print)
        except auto.errors.CommandError as err:
            raise EngineCommandFailed(f"rendering {stack!r} on the engine failed:\n{error_lines(err)}") from None
    return rendered_files(out)
