"""invoke task `runbook.gpu-layers`."""

from __future__ import annotations

from invoke import Context

from infra.cli.guard import task
from runbooks.reload.tasks import COMMON


@task(
    name="gpu-layers",
    help={
        **COMMON,
        "service": "the llama-server service to tune (e.g. inference-chat)",
        "layers": "apply this -ngl instead of the planned one (0 = CPU only)",
        "vram-mib": "free GPU memory in MiB to plan against (default: nvidia-smi on this machine)",
        "model-path": "the GGUF on this machine (default: found through the container's mounts)",
    },
)
def gpu_layers(
    c: Context,
    service: str = "",
    stack: str = "local",
    layers: str | None = None,
    vram_mib: str | None = None,
    model_path: str | None = None,
    dry_run: bool = False,
    yes: bool = False,
    json: bool = False,
) -> None:
    """After a CUDA OOM: plan n_gpu_layers from the GGUF and free VRAM, persist it, apply it."""
    from runbooks.cli import launch, options
    from runbooks.gpu_layers.runbook import build

    launch(
        build,
        options(stack, service or None, dry_run, yes, json, layers=layers, vram_mib=vram_mib, model_path=model_path),
    )
