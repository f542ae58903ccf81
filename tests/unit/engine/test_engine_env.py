"""The offline engine environment and the targets the engine refuses."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.engine.build import GoMissing
from infra.engine.env import EngineUnavailable, engine_env
from infra.engine.ops import check_target, ensure_tools
from infra.errors import ExitCode


def test_no_passphrase_is_refused_naming_both_variables(tmp_path: Path) -> None:
    with pytest.raises(EngineUnavailable) as info:
        engine_env({"PATH": "/usr/bin"}, tmp_path / "state", tmp_path / "bin")
    assert "PULUMI_CONFIG_PASSPHRASE_FILE" in str(info.value)
    assert "PULUMI_CONFIG_PASSPHRASE" in str(info.value)


def test_passphrase_file_must_exist(tmp_path: Path) -> None:
    with pytest.raises(EngineUnavailable, match="not a file"):
        engine_env({"PULUMI_CONFIG_PASSPHRASE_FILE": str(tmp_path / "nope")}, tmp_path / "state", tmp_path / "bin")


def test_env_is_local_and_offline(tmp_path: Path) -> None:
    env = engine_env(
        {"PATH": "/usr/bin", "PULUMI_CONFIG_PASSPHRASE": "s3cret", "PULUMI_IGNORE_AMBIENT_PLUGINS": "true"},
        tmp_path / "state",
        tmp_path / "bin",
    )
    assert env["PULUMI_BACKEND_URL"] == (tmp_path / "state").as_uri()
    assert env["PULUMI_HOME"].startswith(str(tmp_path / "state"))
    assert env["PATH"].split(":")[0] == str(tmp_path / "bin")
    assert env["PULUMI_SKIP_UPDATE_CHECK"] == "true"
    assert env["PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION"] == "true"
    assert env["PULUMI_IGNORE_AMBIENT_PLUGINS"] == "false"  # plugins come from PATH


def test_compose_target_is_refused_with_the_reason(tmp_path: Path) -> None:
    with pytest.raises(EngineUnavailable) as info:
        check_target("compose", "local")
    assert "pulumi-docker" in str(info.value) and "export-compose" in str(info.value)


def test_tools_not_built_are_built_on_first_need_and_without_go_it_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    check_target("eks", "eks-prod")  # a provider exists for eks: no refusal before the build
    monkeypatch.setenv("PATH", str(tmp_path))  # no `go` anywhere
    said: list[str] = []
    with pytest.raises(GoMissing) as info:
        ensure_tools(tmp_path / "bin", say=said.append)
    assert "not built yet" in said[0] and "building them now" in said[0]
    assert info.value.exit_code == ExitCode.MISSING
    assert "Go" in str(info.value)
