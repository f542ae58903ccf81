"""`invoke stack.render`: the program's objects, one YAML file each, secrets redacted."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from infra.spec import ConfigError
from infra.targets.k8s.render import render_stack
from tests.unit.k8s.conftest import Objects


def test_render_writes_every_registered_object(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, objects: Objects
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    out = tmp_path / "k8s"
    (out).mkdir()
    (out / "999-stale-object.yaml").write_text("kind: Stale\n")
    (out / "notes.txt").write_text("kept\n")
    paths = render_stack("eks-prod", out)
    docs = [yaml.safe_load(p.read_text()) for p in paths]
    assert len(paths) == len(objects) == len({p.name for p in paths})
    assert sorted(p.name for p in out.iterdir()) == sorted([*(p.name for p in paths), "notes.txt"])
    assert docs[0]["kind"] == "Namespace"
    rendered = {(d["kind"], d["metadata"].get("namespace"), d["metadata"]["name"]) for d in docs}
    assert rendered == {(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]) for o in objects.values()}
    secrets = [d for d in docs if d["kind"] == "Secret"]
    assert secrets and all(
        v.startswith("REDACTED: pulumi config secret inferops:") for s in secrets for v in s["stringData"].values()
    )
    # numbers come back as ints, as Kubernetes expects them
    gw = next(d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "api-gateway")
    assert isinstance(gw["spec"]["replicas"], int)


def test_render_refuses_a_compose_stack(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="target"):
        render_stack("local", tmp_path)
    assert not list(tmp_path.iterdir())
