"""runbook.gpu-layers: after a CUDA OOM (seed 004 "GPU 레이어 조정"), lower -ngl to what fits.

Detect (runbooks.gpu.detect on the container's state and log, GPU memory from --vram-mib or
nvidia-smi) → plan (runbooks.gpu.planner on the GGUF itself, found through the container's
mounts) → apply: through `runbook.reload` while the service still serves, by a plain recreate
when it is crash looping → verify (health, a completion, `-ngl` of the running process). The
value is persisted in stack config (`tuning.CHAT_N_GPU_LAYERS`, ...), so the next deploy agrees.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.markup import escape

from infra.render.llama import flag_value
from infra.spec.model import Platform
from runbooks.framework import BadInput, Options, Run, Runbook, RunbookError, Step
from runbooks.gpu import (
    NVIDIA_SMI_ARGS,
    GpuLayersError,
    detect,
    free_mib,
    parse_layers,
    parse_nvidia_smi_csv,
    parse_vram_mib,
    plan_for_service,
    plan_table,
    resolve_service,
    stack_config_path,
)
from runbooks.gpu.detect import ContainerState, Detection

if TYPE_CHECKING:
    from docker.models.containers import Container

SEED = "seed 004 GPU 레이어 조정 (.env CHAT_N_GPU_LAYERS 999 → 500, CODE 20 → 15; up -d)"


def model_host_path(attrs: dict[str, Any], container_path: str) -> Path | None:
    """Where the container's `container_path` lies on this host, through its mounts (local engine)."""
    best = None
    for m in attrs.get("Mounts") or []:
        dest = m.get("Destination", "")
        inside = container_path == dest or container_path.startswith(dest.rstrip("/") + "/")
        if m.get("Source") and inside and (best is None or len(dest) > len(best[0])):
            best = (dest, m["Source"])
    if best is None:
        return None
    path = Path(best[1]) / container_path[len(best[0]) :].lstrip("/")
    return path if path.is_file() else None


def gpu_free_mib() -> tuple[float | None, str]:
    """Free VRAM of the first GPU from nvidia-smi on this machine; (None, why) without one."""
    if shutil.which("nvidia-smi") is None:
        return None, "no nvidia-smi on this machine"
    done = subprocess.run(["nvidia-smi", *NVIDIA_SMI_ARGS], capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        return None, f"nvidia-smi failed: {done.stderr.strip()[:200]}"
    readings = parse_nvidia_smi_csv(done.stdout)
    return (free_mib(readings) if readings else None), "nvidia-smi"


def _inputs(platform: Platform, options: Options) -> tuple[str, int | None, float | None]:
    try:
        svc = resolve_service(platform, options.service or "")
        layers = None if options.extra.get("layers") is None else parse_layers(options.extra["layers"])
        vram = None if options.extra.get("vram_mib") is None else parse_vram_mib(options.extra["vram_mib"])
    except GpuLayersError as err:
        raise BadInput(str(err)) from None
    return svc.name, layers, vram


def _observe(platform: Platform, name: str, vram: float | None) -> tuple[Detection, dict[str, Any], float | None, str]:
    from runbooks.targets.docker_target import DockerTarget

    target = DockerTarget(platform)
    attrs = target.inspect(name)
    logs = target.logs(name, tail=400)
    source = "--vram-mib"
    if vram is None:
        vram, source = gpu_free_mib()
    found = detect(name, ContainerState.from_inspect(attrs), logs, None, platform.gpu_layers.memory_high_ratio)
    return found, attrs, vram, source


def build(platform: Platform, options: Options) -> Runbook:
    from runbooks.reload.runbook import runbook_for
    from runbooks.reload.settings import prepare
    from runbooks.targets import TargetError

    name, layers, vram = _inputs(platform, options)
    if platform.target != "compose":
        raise BadInput(f"runbook.gpu-layers acts on compose stacks; {platform.stack!r} targets {platform.target}")
    try:
        found, attrs, vram, vram_source = _observe(platform, name, vram)
    except TargetError as err:
        raise BadInput(str(err)) from None
    model = platform.service(name).llama.model  # type: ignore[union-attr]
    path = options.extra.get("model_path") or model_host_path(attrs, model)
    try:
        plan = plan_for_service(platform, name, model_path=path, vram_free_mib=vram, layers=layers)
    except GpuLayersError as err:
        raise BadInput(f"{err} ({vram_source})") from None
    key = ".".join(stack_config_path(name))
    change = prepare(platform, name, [f"{key}={plan.chosen}"]) if plan.chosen != plan.current else None

    def diagnose(run: Run) -> dict[str, Any]:
        for reason in found.reasons:
            run.log(f"detect: {escape(reason)}")
        run.display.print(plan_table(plan))
        for note in plan.notes:
            run.log(f"[dim]{escape(note)}[/]")
        if change is None:
            run.log(f"-ngl stays {plan.current}: nothing to change")
        run.measure("detection", {"cuda_oom": found.cuda_oom, "host_oom": found.host_oom, "apply_by": found.apply_by})
        run.measure(
            "plan", {"current": plan.current, "chosen": plan.chosen, "source": plan.source, "vram_free_mib": vram}
        )
        return {"reasons": list(found.reasons), "chosen": plan.chosen, "current": plan.current, "model": str(path)}

    first = Step("detect and plan", diagnose, probe=True, summary="CUDA OOM evidence; -ngl that fits free VRAM")
    title = f"-ngl of {name}: {plan.current} → {plan.chosen}"
    if change is None:
        return Runbook(name="gpu-layers", title=title, steps=(first,), seed=SEED)
    if found.apply_by == "reload":
        inner = runbook_for(change)
        steps = (first, *inner.steps)
        return Runbook(name="gpu-layers", title=f"{title} by reload", steps=steps, seed=SEED, state=inner.state)
    steps = (first, *_recreate_steps(change))
    return Runbook(name="gpu-layers", title=f"{title} by recreate", steps=steps, seed=SEED, state=Recreate)


@dataclass
class Recreate:
    """What the recreate steps share: the new container, once healthy."""

    final: Container | None = None


def _recreate_steps(change: Any) -> tuple[Step, ...]:
    """A crash-looping service has nothing to drain: write config, recreate, verify."""
    from runbooks.reload import instances
    from runbooks.reload.placement import Placer
    from runbooks.targets.docker_target import DockerTarget

    name = change.service.name

    def write(run: Run) -> dict[str, Any]:
        change.edit.apply(run)
        return {"keys": [k for k, _, _ in change.edit.changes]}

    def recreate(run: Run) -> dict[str, Any]:
        target = DockerTarget(change.old)
        old = target.container(name)
        placer = Placer(target.client, dict(old.attrs))

        def back() -> None:
            import contextlib

            import docker.errors

            with contextlib.suppress(docker.errors.NotFound):
                instances.remove(target.client.containers.get(name))
            c, names = placer.create(change.old, name)
            instances.attach(target.client, c, change.old.network, names)
            c.start()

        # Registered before the old container goes (write-ahead): the guard recreates it if we die.
        undo = {"service": name, "attrs": dict(old.attrs), "platform": change.old.model_dump(mode="json")}
        run.on_rollback(f"recreate {name} with the old settings", back, durable=("recreate", undo))
        instances.remove(old)
        new, names = placer.create(change.new, name)
        instances.attach(target.client, new, change.new.network, names)
        new.start()
        svc = change.new.service(name)
        probe = [a for a in change.plans()[1].healthcheck.test if a not in ("CMD", "CMD-SHELL")]
        took = instances.wait_healthy(new, probe, change.new.reload.load_timeout_s or svc.health.ready_within_s)
        run.measure("healthy_after_s", round(took, 3))
        run.state_as(Recreate).final = new
        return {"healthy_after_s": round(took, 3)}

    def verify(run: Run) -> dict[str, Any]:
        from runbooks.reload.compose_steps import _gateway_check

        final = run.state_as(Recreate).final
        if final is None:
            raise RunbookError(f"no new container of {name} to verify: the recreate step has not run")
        args = instances.process_args(final)
        want = flag_value(change.plans()[1].command, "-ngl")
        if flag_value(args, "-ngl") != want:
            raise RunbookError(f"{name} runs -ngl {flag_value(args, '-ngl')}, not {want}")
        return {"ngl": want, "gateway_served_by": _gateway_check(change.new, name)}

    return (
        Step("write stack config", write, destructive=True, summary="the new -ngl into stack config"),
        Step("recreate", recreate, destructive=True, summary=f"replace the crash-looping {name}; wait for health"),
        Step("verify", verify, probe=True, summary="-ngl of the running process; a completion through the gateway"),
    )
