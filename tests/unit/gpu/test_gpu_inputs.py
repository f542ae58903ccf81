"""Input validation of runbook.gpu-layers: named errors, raised before anything is read."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.spec import ConfigError, Platform
from infra.spec.stackconfig import platform_from_config
from runbooks.gpu import (
    InvalidLayersError,
    InvalidVramError,
    NotLlamaServiceError,
    UnknownServiceError,
    parse_layers,
    parse_vram_mib,
    plan_for_service,
    resolve_service,
    stack_config_path,
)


def test_llama_services_resolve(local: Platform) -> None:
    assert resolve_service(local, "inference-chat").llama is not None
    assert resolve_service(local, "embedding").name == "embedding"


def test_unknown_service_names_the_choices(local: Platform) -> None:
    with pytest.raises(UnknownServiceError, match="inference-chat, inference-code, embedding") as err:
        resolve_service(local, "inference-chta")
    assert err.value.option == "--service"


def test_disabled_service_is_unknown(local: Platform) -> None:
    with pytest.raises(UnknownServiceError):
        resolve_service(local, "qdrant")  # disabled in the local stack


def test_service_that_is_not_llama_cpp(local: Platform) -> None:
    with pytest.raises(NotLlamaServiceError, match=r"api-gateway \(gateway\) is not a llama-server"):
        resolve_service(local, "api-gateway")


@pytest.mark.parametrize(("value", "expected"), [("0", 0), ("15", 15), (" 999 ", 999), (28, 28)])
def test_layers_accept_non_negative_integers(value: object, expected: int) -> None:
    assert parse_layers(value) == expected


@pytest.mark.parametrize("value", ["-1", -3, "abc", "", "1.5", 1.5, True, None, "2e1"])
def test_layers_refuse_the_rest(value: object) -> None:
    with pytest.raises(InvalidLayersError, match="--layers"):
        parse_layers(value)


@pytest.mark.parametrize(("value", "expected"), [("8192", 8192.0), (7500.5, 7500.5), (" 24 ", 24.0)])
def test_vram_accepts_positive_mib(value: object, expected: float) -> None:
    assert parse_vram_mib(value) == expected


@pytest.mark.parametrize("value", ["0", 0, "-100", "nan", "inf", "abc", "", True, None])
def test_vram_refuses_the_rest(value: object) -> None:
    with pytest.raises(InvalidVramError, match="--vram-mib"):
        parse_vram_mib(value)


def test_bad_input_fails_before_the_model_file_is_opened(local: Platform, tmp_path: Path) -> None:
    missing = tmp_path / "never-created.gguf"
    with pytest.raises(InvalidLayersError):
        plan_for_service(local, "inference-chat", model_path=missing, layers="-2")
    with pytest.raises(InvalidVramError):
        plan_for_service(local, "inference-chat", model_path=missing, vram_free_mib="0")
    with pytest.raises(NotLlamaServiceError):
        plan_for_service(local, "prometheus", model_path=missing, vram_free_mib="8000")
    assert not missing.exists()


def test_a_plan_needs_a_vram_figure_or_layers(local: Platform) -> None:
    with pytest.raises(InvalidVramError, match="give --vram-mib N"):
        plan_for_service(local, "inference-chat", model_path=None)


def test_where_the_value_is_persisted() -> None:
    assert stack_config_path("inference-chat") == ("tuning", "CHAT_N_GPU_LAYERS")
    assert stack_config_path("inference-code") == ("tuning", "CODE_N_GPU_LAYERS")
    assert stack_config_path("embedding") == ("services", "embedding", "n_gpu_layers")


def test_persisted_paths_are_accepted_by_the_stack_loader(local_raw: dict) -> None:
    raw = {**local_raw, "tuning": {**local_raw.get("tuning", {}), "CHAT_N_GPU_LAYERS": 21}}
    raw["services"] = {**raw["services"], "embedding": {**raw["services"]["embedding"], "n_gpu_layers": 7}}
    platform = platform_from_config("local", raw, "test")
    assert platform.services["inference-chat"].llama.n_gpu_layers == 21
    assert platform.services["embedding"].llama.n_gpu_layers == 7


def test_gpu_layers_section_in_stack_config(local_raw: dict) -> None:
    platform = platform_from_config("local", {**local_raw, "gpuLayers": {"headroom_pct": 15, "floor": 4}}, "t")
    assert (platform.gpu_layers.headroom_pct, platform.gpu_layers.floor) == (15, 4)
    with pytest.raises(ConfigError) as err:
        platform_from_config("local", {**local_raw, "gpuLayers": {"headroom_pct": 100, "kv_cache_type": "q3"}}, "t")
    assert set(err.value.keys) == {"inferops:gpuLayers.headroom_pct", "inferops:gpuLayers.kv_cache_type"}
