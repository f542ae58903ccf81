"""Pulumi's integration-test lifecycle on the EKS program, with the real engine (CLI, Python
language host running infra/__main__.py) and the real Kubernetes provider in render mode (no
cluster): up writes the manifests, a second preview is empty, a one-key config change previews
exactly the objects it changes, up applies it, destroy removes them. Secrets never reach the
state file, nor any rendered file but a Secret's.

Needs the tools from `invoke engine.build` (.tools/bin); skipped with the reason otherwise.
"""

from __future__ import annotations

import base64
import secrets
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.engine.ops import EngineStack, open_stack
from infra.engine.render import render_into, rendered_files, scratch_project
from infra.engine.secrets import secret_keys_used
from infra.engine.tools import BIN_DIR, TOOLS
from infra.spec.stackconfig import PROJECT, platform_from_config, read_stack_config
from tests.support.k8s_schemas import check_objects, load_crd_validator
from tests.support.program_oracle import objects_by_name, resource_ops

STACK = "eks-prod"
CHANGE = ("services.inference-chat.replicas", "3")
missing = [str(t.binary()) for t in TOOLS if not t.binary().is_file()]
pytestmark = pytest.mark.skipif(
    bool(missing), reason=f"engine tools not built ({', '.join(missing)}): run `invoke engine.build` (needs Go)"
)


def platform_with(overrides: dict[str, Any]) -> Any:
    raw = read_stack_config(STACK)
    for path, value in overrides.items():
        *parents, leaf = path.split(".")
        node = raw
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return platform_from_config(STACK, raw, source=f"stacks/Pulumi.{STACK}.yaml")


def loaded(files: dict[str, Path]) -> dict[str, dict[str, Any]]:
    return {name: yaml.safe_load(path.read_text()) for name, path in files.items()}


@pytest.fixture
def project(tmp_path: Path, untouched_stack_file: Path) -> Path:
    """A scratch copy of the project files the CLI reads (without the operator's secrets), and a
    passphrase file of the test's own."""
    scratch_project(STACK, tmp_path)
    (tmp_path / "passphrase").write_text(secrets.token_urlsafe(16))
    return tmp_path


def test_lifecycle_in_render_mode(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pulumi import automation as auto

    # The oracles first: they run the program under the mock engine, which reconfigures the runtime.
    base = platform_with({})
    expected = objects_by_name(base)
    changed = objects_by_name(platform_with({CHANGE[0]: int(CHANGE[1])}))
    want = {name for name, obj in changed.items() if obj != expected.get(name)}
    assert want, "the config change must change at least one object"

    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE_FILE", str(project / "passphrase"))
    out = project / "rendered"
    where = EngineStack(STACK, project_dir=project, state_dir=project / "state", bin_dir=BIN_DIR)
    stack = open_stack(where)
    render_into(stack, out)
    values = {key: f"s3cret-{secrets.token_hex(8)}" for key in secret_keys_used(base)}
    assert values, "the EKS program reads at least the gateway master key"
    for key, value in values.items():
        stack.set_config(f"{PROJECT}:{key}", auto.ConfigValue(value, secret=True))

    # up writes one file per object, and the objects pass the EKS schema checks.
    stack.up(on_output=print)
    files = loaded(rendered_files(out))
    assert len(files) == len(expected), sorted(files)
    check_objects(files, base.eks.kubernetes_version, load_crd_validator())

    # preview right after up: nothing to do.
    again = stack.preview()
    assert set(again.change_summary) == {"same"}, again.change_summary

    # one key changes exactly the objects whose manifest it changes.
    stack.set_config(f"{PROJECT}:{CHANGE[0]}", auto.ConfigValue(CHANGE[1]), path=True)
    events: list[Any] = []
    stack.preview(on_event=events.append)
    ops = resource_ops(events)
    assert {name for name, op in ops.items() if op != "same"} == want, ops

    stack.up(on_output=print)
    after = loaded(rendered_files(out)).values()
    chat = [o for o in after if o["kind"] == "Deployment" and "chat" in o["metadata"]["name"]]
    assert [o["spec"]["replicas"] for o in chat] == [int(CHANGE[1])]

    # secrets: never in the state, only in Secret objects of the render.
    state = "".join(p.read_text() for p in (project / "state").rglob("*.json"))
    clear = {v for value in values.values() for v in (value, base64.b64encode(value.encode()).decode())}
    assert state and not [v for v in clear if v in state], "a secret is in clear text in the state"
    for name, obj in loaded(rendered_files(out)).items():
        if obj["kind"] != "Secret":
            text = yaml.safe_dump(obj)
            assert not [v for v in clear if v in text], f"a secret is in clear text in {name}"

    # destroy removes every file but those of objects the program retains on delete.
    stack.destroy(on_output=print)
    left = [(o["kind"], o["metadata"]["name"]) for o in loaded(rendered_files(out)).values()]
    assert left == [("Namespace", base.eks.namespaces.monitoring)]
