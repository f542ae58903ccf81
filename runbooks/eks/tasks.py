"""invoke tasks `runbook.gpu-oom`, `runbook.model-loading`, `runbook.karpenter-diagnose` and
`runbook.network` (imported into runbooks/tasks.py). Heavy imports stay inside the bodies so
`invoke --list` stays fast."""

from __future__ import annotations

from invoke import Context

from infra.cli.guard import task

__all__ = ["gpu_oom", "karpenter_diagnose", "model_loading", "network"]

COMMON = {
    "stack": "an EKS stack: stacks/Pulumi.<stack>.yaml (its kubeconfig context is read)",
    "dry-run": "print the plan, read and report, change nothing",
    "yes": "write the proposed fix into stack config (without: read-only, the fix is only shown)",
    "json": "print the run record (findings, evidence, proposed keys) as JSON on stdout",
}


@task(
    name="gpu-oom",
    help={
        **COMMON,
        "service": "only this llama-server service's pods (default: every GPU pod in the namespace)",
        "prometheus-url": "Prometheus with DCGM metrics (default: inferops:dailyCheck.prometheus_url)",
        "vram-mib": "free GPU memory in MiB for the GPU-layer planner (default: DCGM or nvidia-smi in the pod)",
        "model-path": "the GGUF on this machine, for the planner (default: the seed's fixed steps)",
    },
)
def gpu_oom(
    c: Context,
    stack: str = "eks-prod",
    service: str | None = None,
    prometheus_url: str | None = None,
    vram_mib: str | None = None,
    model_path: str | None = None,
    dry_run: bool = False,
    yes: bool = False,
    json: bool = False,
) -> None:
    """GPU pods with CUDA OOM, OOMKilled or restarts: the cause and seed 003's fix as stack config."""
    from runbooks.cli import launch, options
    from runbooks.eks.gpu_oom import build
    from runbooks.framework import BadInput
    from runbooks.gpu import parse_vram_mib
    from runbooks.gpu.errors import GpuLayersError

    try:
        vram = None if vram_mib is None else parse_vram_mib(vram_mib)
    except GpuLayersError as err:
        raise BadInput(str(err)) from None
    extra = {"prometheus_url": prometheus_url, "vram_mib": vram, "model_path": model_path}
    launch(build, options(stack, service, dry_run, yes, json, **extra))


@task(
    name="model-loading",
    help={
        **COMMON,
        "service": "only this service's pods (default: every pod in the namespace)",
        "service-account": "for a 403 from the model download: the ServiceAccount (IRSA) the fix sets",
    },
)
def model_loading(
    c: Context,
    stack: str = "eks-prod",
    service: str | None = None,
    service_account: str | None = None,
    dry_run: bool = False,
    yes: bool = False,
    json: bool = False,
) -> None:
    """Pods that fail to load their model: refused, 403, OOM while loading, PVC pending, image pull."""
    from runbooks.cli import launch, options
    from runbooks.eks.model_loading import build

    launch(build, options(stack, service, dry_run, yes, json, service_account=service_account))


@task(name="karpenter-diagnose", help=COMMON)
def karpenter_diagnose(
    c: Context, stack: str = "eks-prod", dry_run: bool = False, yes: bool = False, json: bool = False
) -> None:
    """Pending pods and stuck NodeClaims: the cause and the NodePool fix as a stack-config diff."""
    from runbooks.cli import launch, options
    from runbooks.eks.karpenter import build

    launch(build, options(stack, None, dry_run, yes, json))


@task(
    help={
        **COMMON,
        "service": "the service to reach (default: every service of the namespace)",
        "source": "the service whose pod the checks run in (default: api-gateway)",
    }
)
def network(
    c: Context,
    stack: str = "eks-prod",
    service: str | None = None,
    source: str = "api-gateway",
    dry_run: bool = False,
    yes: bool = False,
    json: bool = False,
) -> None:
    """DNS and service reachability from a pod, timeouts in logs, pods piled in one zone."""
    from runbooks.cli import launch, options
    from runbooks.eks.network import build

    launch(build, options(stack, service, dry_run, yes, json, source=source))
