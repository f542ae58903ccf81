"""The EKS program on the real engine with the real Kubernetes provider in render mode.

With `render_yaml_to_directory` the provider writes each object as YAML under the directory
(`0-crd/`, `1-manifest/`) instead of calling a cluster, so `up`, `preview` and `destroy` run the
whole engine (diffs, state, secrets) with no cluster here. The program is the real one
(`infra.program.main`); only the keyword arguments of its `k8s.Provider` are swapped for
render mode while it runs, since the program itself has no render switch (see docs/engine.md).
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from infra.spec.stackconfig import PROJECT, ROOT, stack_file

# The same marker the mock-engine render writes (infra.targets.k8s.render.REDACTED).
REDACTED = "REDACTED: pulumi config secret {project}:{key}"


@contextlib.contextmanager
def provider_renders_to(directory: Path) -> Iterator[None]:
    """While active, every `pulumi_kubernetes.Provider` built renders into `directory`."""
    import pulumi_kubernetes as k8s

    real = k8s.Provider

    class RenderProvider(real):  # type: ignore[misc, valid-type]
        def __init__(self, resource_name: str, *args: Any, **kwargs: Any) -> None:
            kwargs.pop("kubeconfig", None)
            kwargs.pop("context", None)
            super().__init__(resource_name, *args, render_yaml_to_directory=str(directory.resolve()), **kwargs)

    k8s.Provider = RenderProvider
    try:
        yield
    finally:
        k8s.Provider = real


def render_program(directory: Path) -> Callable[[], None]:
    """The inline program: `infra.program.main` with its Kubernetes provider in render mode."""

    def program() -> None:
        from infra.program import main

        with provider_renders_to(directory):
            main()

    return program


def rendered_files(directory: Path) -> dict[str, Path]:
    """Rendered YAML files by name (`0-crd/…`, `1-manifest/…`)."""
    if not directory.is_dir():
        return {}
    return {str(p.relative_to(directory)): p for p in sorted(directory.rglob("*.yaml"))}


def secret_keys_used(platform: Any) -> list[str]:
    """Secret config keys the EKS program reads, found by running it under the mock engine
    (`infra.targets.k8s.render`), whose secret markers name their keys."""
    import re

    import yaml

    from infra.targets.k8s.render import manifests

    text = yaml.safe_dump(manifests(platform))
    return sorted(set(re.findall(rf"pulumi config secret {PROJECT}:([A-Za-z0-9_]+)", text)))


def scratch_project(stack: str, directory: Path) -> Path:
    """Copy the files the CLI reads (Pulumi.yaml, the stack file) so that `stack init` and
    `config set` on a throwaway stack leave `stacks/` alone."""
    (directory / "stacks").mkdir(parents=True, exist_ok=True)
    # The CLI checks that Pulumi.yaml's `main` exists even though the inline program replaces it.
    (directory / "infra").mkdir(exist_ok=True)
    shutil.copy(ROOT / "Pulumi.yaml", directory / "Pulumi.yaml")
    shutil.copy(stack_file(stack), directory / "stacks")
    return directory


def render_with_engine(stack: str, out: Path, environ: Mapping[str, str] | None = None) -> dict[str, Path]:
    """`invoke stack.render` on the real engine: `up` of a scratch copy of the stack (scratch
    state too, so the real stack's state is untouched) with the provider rendering into `out`.

    Secrets the stack file holds are decrypted with the passphrase and written as Kubernetes
    Secrets need them; secrets it lacks are set to markers that name their config key.
    """
    from pulumi import automation as auto

    from infra.engine.ops import EngineStack, open_stack
    from infra.spec import load_platform

    platform = load_platform(stack)
    out = out.resolve()
    shutil.rmtree(out, ignore_errors=True)
    with tempfile.TemporaryDirectory(prefix="inferops-render-") as tmp:
        project = scratch_project(stack, Path(tmp))
        where = EngineStack(stack, project_dir=project, state_dir=project / "state", environ=environ)
        engine_stack = open_stack(where, program=render_program(out))
        have = engine_stack.get_all_config()
        for key in secret_keys_used(platform):
            if f"{PROJECT}:{key}" not in have:
                marker = REDACTED.format(project=PROJECT, key=key)
                engine_stack.set_config(f"{PROJECT}:{key}", auto.ConfigValue(marker, secret=True))
        engine_stack.up(on_output=print)
    return rendered_files(out)
