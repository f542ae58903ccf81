"""The Pulumi entry point: stack config from the engine, validation before any resource."""

from __future__ import annotations

import json

import pytest

from infra.program import main
from infra.spec import ConfigError, load_platform
from infra.spec.stackconfig import read_stack_config
from tests.support.pulumi_mocks import run_program


def engine_config(raw: dict, secrets: dict[str, str]) -> dict[str, str]:
    """Stack config as the engine hands it to a program: strings, objects as JSON."""
    config = {f"inferops:{k}": v if isinstance(v, str) else json.dumps(v) for k, v in raw.items()}
    config.update({f"inferops:{k}": v for k, v in secrets.items()})
    return config


def test_program_reads_the_same_platform_as_the_loader() -> None:
    raw = read_stack_config("local")
    registered = run_program(lambda: main() or [], stack="local", config=engine_config(raw, {"gatewayMasterKey": "k"}))
    names = {r.name for r in registered.values() if r.typ == "docker:index/container:Container"}
    assert names == {s.name for s in load_platform("local").enabled()}


def test_bad_config_creates_nothing() -> None:
    raw = {**read_stack_config("local"), "tuning": {"LLAMA_PARALLEL": 0}}
    created: dict = {}

    def program() -> list:
        try:
            main()
        except ConfigError as err:
            created["error"] = err
        return []

    registered = run_program(program, stack="local", config=engine_config(raw, {"gatewayMasterKey": "k"}))
    assert created["error"].keys == ["inferops:tuning.LLAMA_PARALLEL"]
    assert [r.typ for r in registered.values() if r.typ != "pulumi:pulumi:Stack"] == []


def test_missing_master_key_is_named() -> None:
    raw = read_stack_config("local")
    with pytest.raises(Exception, match="gatewayMasterKey"):
        run_program(lambda: main() or [], stack="local", config=engine_config(raw, {}))
