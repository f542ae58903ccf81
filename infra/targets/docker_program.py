"""The compose stack as a pulumi-docker program: one `docker.Container` per service plan.

Start order by health: every container is created with `wait=True` (pulumi-docker waits for the
"healthy" state on create) and dependents carry `depends_on` on their dependencies' containers, so
a dependent is created only after what it needs is healthy — the seed's
`depends_on: condition: service_healthy`.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial

import pulumi
import pulumi_docker as docker

from infra.configfile import ConfigFile
from infra.render.containers import LABEL_PREFIX, ContainerPlan, container_plans, named_volumes
from infra.spec.model import Platform

SecretSource = Mapping[str, pulumi.Output[str]]


def deploy_compose(platform: Platform, secrets: SecretSource) -> dict[str, docker.Container]:
    """Create the network, volumes and containers of `platform`; return the containers by service."""
    provider = _provider(platform)
    opts = pulumi.ResourceOptions(provider=provider) if provider else None
    network = docker.Network(
        "network",
        name=platform.network,
        driver="bridge",
        labels=[docker.NetworkLabelArgs(label=f"{LABEL_PREFIX}.stack", value=platform.stack)],
        opts=opts,
    )
    plans = container_plans(platform)
    volumes = {
        name: docker.Volume(
            f"volume-{name}",
            name=f"{platform.network}-{name}",
            labels=[docker.VolumeLabelArgs(label=f"{LABEL_PREFIX}.stack", value=platform.stack)],
            opts=opts,
        )
        for name in named_volumes(plans)
    }
    containers: dict[str, docker.Container] = {}
    for plan in plans:
        deps = [containers[d] for d in plan.depends_on]
        containers[plan.name] = _container(plan, platform, network, volumes, secrets, provider, deps)
    pulumi.export("containers", {name: c.name for name, c in containers.items()})
    pulumi.export("endpoints", {s.name: platform.url(s, s.health.path) for s in platform.enabled() if s.publish})
    return containers


def _provider(platform: Platform) -> docker.Provider | None:
    """A provider for a remote engine (`ssh://ops@gpu-1` runs `docker system dial-stdio`)."""
    if platform.docker_host is None:
        return None
    return docker.Provider("docker-host", host=platform.docker_host)


def _container(
    plan: ContainerPlan,
    platform: Platform,
    network: docker.Network,
    volumes: Mapping[str, docker.Volume],
    secrets: SecretSource,
    provider: docker.Provider | None,
    deps: list[docker.Container],
) -> docker.Container:
    hc = plan.healthcheck
    return docker.Container(
        plan.name,
        name=plan.name,
        image=plan.image,
        entrypoints=list(plan.entrypoint) if plan.entrypoint else None,
        command=list(plan.command),
        envs=_envs(plan, secrets),
        labels=[docker.ContainerLabelArgs(label=k, value=v) for k, v in plan.labels.items()],
        healthcheck=docker.ContainerHealthcheckArgs(
            tests=list(hc.test),
            interval=hc.interval,
            timeout=hc.timeout,
            retries=hc.retries,
            start_period=hc.start_period,
        ),
        wait=True,
        wait_timeout=plan.wait_timeout_s,
        must_run=True,
        restart=plan.restart,
        ports=[
            docker.ContainerPortArgs(internal=p.container_port, external=p.host_port, ip=p.host_ip) for p in plan.ports
        ],
        networks_advanced=[docker.ContainerNetworksAdvancedArgs(name=network.name, aliases=[plan.name])],
        volumes=[
            docker.ContainerVolumeArgs(
                host_path=v.source if v.host_path else None,
                volume_name=None if v.host_path else volumes[v.source].name,
                container_path=v.target,
                read_only=v.read_only,
            )
            for v in plan.volumes
        ],
        uploads=[_upload(f, secrets) for f in plan.files],
        device_requests=(
            [docker.ContainerDeviceRequestArgs(driver="nvidia", count=plan.gpus, capabilities=["gpu"])]
            if plan.gpus
            else None
        ),
        memory=plan.memory_mib,
        cpus=str(plan.cpus) if plan.cpus else None,
        opts=pulumi.ResourceOptions(provider=provider, depends_on=deps),
    )


def _envs(plan: ContainerPlan, secrets: SecretSource) -> list[pulumi.Input[str]]:
    envs: list[pulumi.Input[str]] = [f"{k}={v}" for k, v in sorted(plan.env.items())]
    for var, key in sorted(plan.secret_env.items()):
        secret: pulumi.Output[str] = pulumi.Output.secret(secrets[key])
        envs.append(secret.apply(partial(_assignment, var)))
    return envs


def _assignment(var: str, value: str) -> str:
    return f"{var}={value}"


def _upload(f: ConfigFile, secrets: SecretSource) -> docker.ContainerUploadArgs:
    if not f.is_secret:
        return docker.ContainerUploadArgs(file=f.path, content=f.content())
    values = pulumi.Output.all(*(secrets[k] for k in f.secret_keys))
    content: pulumi.Output[str] = pulumi.Output.secret(
        values.apply(lambda vals: f.content(dict(zip(f.secret_keys, vals, strict=True))))
    )
    return docker.ContainerUploadArgs(file=f.path, content=content)
