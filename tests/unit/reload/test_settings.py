"""`--set` / `--model` parsing, the edit they make, and what a reload refuses (nothing written)."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.spec import load_platform
from runbooks.framework import BadInput
from runbooks.reload.settings import config_key, parse_sets, prepare


def test_short_keys_map_to_their_stack_config_keys() -> None:
    assert config_key("inference-chat", "n_gpu_layers") == "tuning.CHAT_N_GPU_LAYERS"
    assert config_key("embedding", "n_gpu_layers") == "services.embedding.n_gpu_layers"
    assert config_key("inference-chat", "ctx_size") == "services.inference-chat.ctx_size"
    assert config_key("inference-chat", "services.inference-chat.model") == "services.inference-chat.model"
    with pytest.raises(BadInput, match="--set colour: unknown key"):
        config_key("inference-chat", "colour")


def test_values_are_typed_as_yaml_and_model_is_a_shorthand() -> None:
    got = parse_sets("inference-chat", ["ctx_size=1024", "extra_args=[--flash-attn, 'on']"], "/models/b.gguf")
    assert got == [
        ("services.inference-chat.ctx_size", 1024),
        ("services.inference-chat.extra_args", ["--flash-attn", "on"]),
        ("services.inference-chat.model", "/models/b.gguf"),
    ]
    with pytest.raises(BadInput, match="write key=value"):
        parse_sets("inference-chat", ["ctx_size"], None)


def test_prepare_builds_the_new_platform_and_diff_without_writing(stack_file: Path) -> None:
    before = stack_file.read_bytes()
    change = prepare(load_platform("rl"), "inference-chat", ["ctx_size=1024", "n_gpu_layers=5"])
    assert change.new.service("inference-chat").llama.ctx_size == 1024
    assert change.new.service("inference-chat").llama.n_gpu_layers == 5
    old, new = change.plans()
    assert "-c" in new.command and new.command[new.command.index("-c") + 1] == "1024"
    assert old.command[old.command.index("-c") + 1] == "512"
    assert "+      ctx_size: 1024" in change.diff and "# an operator's comment" in change.diff
    assert stack_file.read_bytes() == before


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        (["tuning.LLAMA_PARALLEL=4"], "also changes inference-code"),  # a stack-wide knob
        (["services.inference-chat.env={A: b}"], "alters env of inference-chat"),  # not a flag
        (["services.inference-chat.host_port=18001"], "alters ports of inference-chat"),
        (["ctx_size=0"], "ctx_size"),  # the loader's own validation, named
    ],
)
def test_changes_beyond_one_services_flags_are_refused(stack_file: Path, sets: list[str], message: str) -> None:
    before = stack_file.read_bytes()
    with pytest.raises(BadInput, match=message):
        prepare(load_platform("rl"), "inference-chat", sets)
    assert stack_file.read_bytes() == before


@pytest.mark.parametrize(
    ("service", "message"),
    [(None, "--service is required"), ("api-gateway", "not a llama-server"), ("nope", "no enabled service")],
)
def test_only_llama_services_can_be_reloaded(stack_file: Path, service: str | None, message: str) -> None:
    with pytest.raises(BadInput, match=message):
        prepare(load_platform("rl"), service, [])
