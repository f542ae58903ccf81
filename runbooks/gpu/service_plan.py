"""The planner as the runbook calls it: validate the inputs first, then read the model file."""

from __future__ import annotations

from pathlib import Path

from infra.spec.model import Platform
from runbooks.gpu.errors import InvalidVramError, ModelFileError
from runbooks.gpu.inputs import layer_knob, parse_layers, parse_vram_mib, resolve_service
from runbooks.gpu.modelshape import read_model_shape
from runbooks.gpu.planner import LayerPlan, fallback_plan, plan_layers


def plan_for_service(
    platform: Platform,
    service: str,
    *,
    model_path: str | Path | None,
    vram_free_mib: object = None,
    layers: object = None,
) -> LayerPlan:
    """The -ngl to apply to `service`, from its GGUF at `model_path` (a path on this machine).

    `vram_free_mib` and `layers` take command-line strings or numbers; bad values raise the
    named errors of runbooks.gpu.errors before any file is opened. An unreadable model file
    falls back to the seed's fixed steps (or to the override as given).
    """
    svc = resolve_service(platform, service)
    override = None if layers is None else parse_layers(layers)
    vram = None if vram_free_mib is None else parse_vram_mib(vram_free_mib)
    if override is None and vram is None:
        raise InvalidVramError(
            "--vram-mib", None, "no GPU memory reading is available: give --vram-mib N (free MiB) or --layers N"
        )
    assert svc.llama is not None  # resolve_service guarantees it
    settings = platform.gpu_layers
    try:
        if model_path is None:
            raise ModelFileError(f"no host path for {svc.llama.model}")
        shape = read_model_shape(model_path)
    except ModelFileError as err:
        if override is not None:
            return LayerPlan(
                service,
                svc.llama.n_gpu_layers,
                override,
                "override",
                None,
                vram,
                notes=(f"model file not read ({err}): VRAM not checked",),
            )
        return fallback_plan(service, layer_knob(service), svc.llama.n_gpu_layers, settings, str(err))
    return plan_layers(
        shape, service=service, llama=svc.llama, settings=settings, vram_free_mib=vram, override=override
    )
