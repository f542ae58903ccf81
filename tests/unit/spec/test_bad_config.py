"""Bad stack config fails with a message naming the file, the key, the value and the fix."""

from __future__ import annotations

import pytest

from infra.spec import ConfigError, load_platform
from infra.spec.stackconfig import platform_from_config

SOURCE = "stacks/Pulumi.bad.yaml"


def fails(raw: dict) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        platform_from_config("bad", raw, SOURCE)
    assert SOURCE in str(info.value)
    return info.value


def test_wrong_type_names_key_and_value() -> None:
    err = fails({"tuning": {"RAG_TOPK": "many"}})
    assert err.keys == ["inferops:tuning.RAG_TOPK"]
    assert "'many'" in str(err)
    assert "valid integer" in str(err)


def test_out_of_range() -> None:
    err = fails({"tuning": {"CHAT_N_GPU_LAYERS": -1}})
    assert err.keys == ["inferops:tuning.CHAT_N_GPU_LAYERS"]
    assert "greater than or equal to 0" in str(err)


def test_inconsistent_knobs() -> None:
    err = fails({"tuning": {"QDRANT_RETRY_MIN_WAIT": 30, "QDRANT_RETRY_MAX_WAIT": 10}})
    assert "QDRANT_RETRY_MIN_WAIT must not exceed" in str(err)


def test_unknown_service_lists_known_ones() -> None:
    err = fails({"services": {"inference-chatt": {"enabled": False}}})
    assert err.keys == ["inferops:services.inference-chatt"]
    assert "known: inference-chat" in str(err)


def test_unknown_top_level_key() -> None:
    err = fails({"tunning": {}})
    assert err.keys == ["inferops:tunning"]


def test_unknown_service_setting() -> None:
    err = fails({"services": {"qdrant": {"replica": 2}}})
    assert err.keys == ["inferops:services.qdrant.replica"]


def test_dependency_cycle() -> None:
    err = fails({"services": {"inference-chat": {"depends_on": ["rag"]}}})
    assert "dependency cycle" in str(err)
    assert "break the cycle" in str(err)


def test_dependency_on_unknown_service() -> None:
    err = fails({"services": {"rag": {"depends_on": ["redis"]}}})
    assert err.keys == ["inferops:services.rag.depends_on"]


def test_dependency_on_disabled_service() -> None:
    err = fails({"services": {"qdrant": {"enabled": False}}})
    assert "rag depends on qdrant" in str(err)


def test_port_used_twice_names_both_services() -> None:
    err = fails({"services": {"rag": {"host_port": 8001}}})
    assert "port 8001 is already published by inference-chat" in str(err)


def test_gpu_layers_only_through_the_seed_knob() -> None:
    err = fails({"services": {"inference-chat": {"n_gpu_layers": 10}}})
    assert "CHAT_N_GPU_LAYERS" in str(err)


def test_llama_settings_on_a_non_llama_service() -> None:
    err = fails({"services": {"qdrant": {"model": "/models/x.gguf"}}})
    assert "llama-server services only" in str(err)


def test_bad_health_override() -> None:
    err = fails({"services": {"rag": {"health": {"interval_s": 1, "timeout_s": 5}}}})
    assert "timeout_s must not exceed interval_s" in str(err)


def test_all_problems_reported_at_once() -> None:
    err = fails({"tuning": {"RAG_TOPK": 0}, "services": {"nope": {}}, "bogus": 1})
    assert len(err.problems) == 3


def test_unknown_stack_lists_available() -> None:
    with pytest.raises(ConfigError) as info:
        load_platform("nope")
    assert "available: " in str(info.value)
    assert "local" in str(info.value)
