"""The control plane's build rows: versions from the wrapper go.mods only, the Kubernetes minor
eks-prod runs, and the stamps upstream's hack/lib/version.sh would link."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.engine.tools import required_versions
from infra.kube.plane import KWOK_STAGES
from infra.kube.tools import APISERVER, ETCD, KUBE_MODULE_DIR, KUBE_TOOLS, KWOK, KWOK_MODULE_DIR
from infra.spec.stackconfig import load_platform


def test_kubernetes_is_the_minor_eks_prod_runs() -> None:
    version = required_versions(KUBE_MODULE_DIR)["k8s.io/kubernetes"]
    major_minor = ".".join(version.removeprefix("v").split(".")[:2])
    assert major_minor == load_platform("eks-prod").eks.kubernetes_version


def test_etcd_is_the_version_kubernetes_itself_requires() -> None:
    """k8s.io/kubernetes requires etcd's client and server modules at one version: run that server."""
    versions = required_versions(KUBE_MODULE_DIR)
    assert versions[ETCD.module] == versions["go.etcd.io/etcd/client/v3"]


def test_every_staging_module_is_replaced_by_its_published_version() -> None:
    import json
    import subprocess

    doc = json.loads(
        subprocess.run(
            ["go", "mod", "edit", "-json"], cwd=KUBE_MODULE_DIR, check=True, capture_output=True, text=True
        ).stdout
    )
    minor = required_versions(KUBE_MODULE_DIR)["k8s.io/kubernetes"].removeprefix("v1.")
    replaced = {r["Old"]["Path"]: r["New"] for r in doc["Replace"]}
    assert len(replaced) == 28, sorted(replaced)
    for old, new in replaced.items():
        assert new == {"Path": old, "Version": f"v0.{minor}"}, (old, new)


def test_kubernetes_binaries_carry_the_version_in_both_packages() -> None:
    flags = APISERVER.x_flags("v1.33.13")
    for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        assert f"{pkg}.gitVersion=v1.33.13" in flags
        assert f"{pkg}.gitMajor=1" in flags and f"{pkg}.gitMinor=33" in flags


def test_etcd_has_nothing_to_stamp_and_kwok_drops_the_v() -> None:
    assert ETCD.x_flags("v3.5.21") == []
    assert KWOK.x_flags(required_versions(KWOK_MODULE_DIR)[KWOK.module]) == [
        "sigs.k8s.io/kwok/pkg/consts.Version=0.8.0"
    ]


def test_the_stage_configs_kwok_is_started_with_are_copied_by_the_build() -> None:
    assert sorted(KWOK_STAGES) == sorted(c.rsplit("/", 1)[-1] for c in KWOK.companions)
    assert {t.name for t in KUBE_TOOLS} == {
        "etcd",
        "kube-apiserver",
        "kube-controller-manager",
        "kube-scheduler",
        "kwok",
    }


def test_without_go_and_without_binaries_the_build_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from infra.engine.build import GoMissing
    from infra.kube.build import build_kube

    monkeypatch.setenv("PATH", str(tmp_path))  # no go here
    with pytest.raises(GoMissing, match=r"Go >= 1\.24\.0 \(tools/kube/go\.mod\)") as err:
        build_kube(tmp_path / "bin", report=lambda _: None)
    assert err.value.exit_code == 3 and "invoke kube.build" in str(err.value)
