"""Validation of `runbook.gpu-layers` inputs, and where its value lives in stack config."""

from __future__ import annotations

import math

from infra.spec.defaults import GPU_LAYER_KNOBS
from infra.spec.model import Platform, Service
from runbooks.gpu.errors import (
    InvalidLayersError,
    InvalidVramError,
    NotLlamaServiceError,
    UnknownServiceError,
)


def llama_services(platform: Platform) -> list[str]:
    """Enabled services that run llama-server, i.e. the ones that have GPU layers."""
    return [s.name for s in platform.enabled() if s.llama is not None]


def resolve_service(platform: Platform, name: str) -> Service:
    """The enabled llama-server service `name`, or a named error listing the valid choices."""
    choices = ", ".join(llama_services(platform)) or "none"
    svc = platform.services.get(name)
    if svc is None or not svc.enabled:
        raise UnknownServiceError(
            "--service", name, f"no enabled service of that name in stack {platform.stack!r}; choose one of: {choices}"
        )
    if svc.llama is None:
        raise NotLlamaServiceError(
            "--service", name, f"{name} ({svc.role.value}) is not a llama-server; GPU layers apply to: {choices}"
        )
    return svc


def parse_layers(value: object) -> int:
    """`--layers` as an int >= 0; strings from the command line are accepted, bools are not."""
    fix = "give a whole number of layers, 0 or more (0 = CPU only, 999 = all)"
    if isinstance(value, bool):
        raise InvalidLayersError("--layers", value, fix)
    if isinstance(value, int):
        layers = value
    elif isinstance(value, str) and value.strip().removeprefix("-").isdigit():
        layers = int(value.strip())
    else:
        raise InvalidLayersError("--layers", value, fix)
    if layers < 0:
        raise InvalidLayersError("--layers", value, fix)
    return layers


def parse_vram_mib(value: object) -> float:
    """`--vram-mib` as a positive, finite number of MiB (free VRAM to plan against)."""
    fix = "give the free GPU memory in MiB, a number above 0 (nvidia-smi --query-gpu=memory.free)"
    if isinstance(value, bool):
        raise InvalidVramError("--vram-mib", value, fix)
    try:
        mib = float(value.strip()) if isinstance(value, str) else float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InvalidVramError("--vram-mib", value, fix) from None
    if not math.isfinite(mib) or mib <= 0:
        raise InvalidVramError("--vram-mib", value, fix)
    return mib


def layer_knob(service: str) -> str | None:
    """The seed's `.env` knob for the service's GPU layers (CHAT_/CODE_N_GPU_LAYERS), if any."""
    return GPU_LAYER_KNOBS.get(service)


def stack_config_path(service: str) -> tuple[str, ...]:
    """Where the runbook persists the value under `inferops:` in `stacks/Pulumi.<stack>.yaml`.

    Services with a seed knob take it under `tuning` (the stack loader refuses
    `services.<name>.n_gpu_layers` for them); the others take the per-service override.
    """
    knob = layer_knob(service)
    if knob is not None:
        return ("tuning", knob)
    return ("services", service, "n_gpu_layers")
