"""`invoke kube.*`: a local Kubernetes control plane (kube-apiserver, etcd, kwok nodes) on loopback."""

from __future__ import annotations

from invoke import Context

from infra.cli.guard import task

STACK_HELP = {"stack": "EKS stack whose NodePools shape the kwok nodes (stacks/Pulumi.<stack>.yaml)"}


@task
def build(c: Context) -> None:
    """Build etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok into .tools/bin (cached)."""
    from infra.kube.build import build_kube

    build_kube()


@task(help=STACK_HELP)
def up(c: Context, stack: str = "eks-prod") -> None:
    """Start the control plane (TLS, RBAC), kwok nodes like the NodePools, the CRDs; kubeconfig in .state/kube."""
    from infra.kube.ops import eks_platform, kube_up

    kube_up(eks_platform(stack))


@task
def down(c: Context) -> None:
    """Stop the processes `kube.up` started (by their recorded pids), nothing else."""
    from infra.kube.ops import kube_down

    kube_down()


@task
def status(c: Context) -> None:
    """Each control-plane process: running (pid) or stopped; the kubeconfig to use."""
    from infra.kube.ops import STATE_DIR
    from infra.kube.plane import ControlPlane

    plane = ControlPlane(STATE_DIR)
    states = plane.status()
    if not states:
        print(f"no control plane recorded in {STATE_DIR} (`invoke kube.up`)")
        return
    for name, state in states.items():
        print(f"{name:26} {state}")
    print(f"kubeconfig: {plane.kubeconfig}")
