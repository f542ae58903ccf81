"""Typed model of the platform: services, health checks, GPU needs and the seed's tuning knobs.

Every target (pulumi-docker, compose export, Kubernetes), runbook and check reads these objects;
nothing else in the project keeps a list of services, ports or health endpoints.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import Field, PositiveInt, model_validator

from infra.spec.alerting import Alerting
from infra.spec.backup import Backup
from infra.spec.base import Strict
from infra.spec.daily_check import DailyCheck
from infra.spec.drills import Drills
from infra.spec.eks import Eks
from infra.spec.errors import UnknownService
from infra.spec.gpu import GpuLayers
from infra.spec.reload import Reload
from infra.spec.watch import Watch
from infra.spec.weekly_check import WeeklyCheck


class Role(StrEnum):
    INFERENCE = "inference"
    GATEWAY = "gateway"
    EMBEDDING = "embedding"
    RAG = "rag"
    VECTOR_DB = "vector-db"
    MONITORING = "monitoring"
    TEST_SUPPORT = "test-support"


RestartPolicy = Literal["no", "always", "unless-stopped", "on-failure"]
ProbeTool = Literal["curl", "wget", "bash-tcp", "python"]


class HealthCheck(Strict):
    """How to tell the service is ready: an HTTP GET on `path`, from inside and outside.

    `tool` is what the image has for the in-container check (the official qdrant image has
    neither curl nor wget, only bash).
    """

    path: str = Field("/health", pattern=r"^/")
    port: int | None = Field(None, ge=1, le=65535)
    interval_s: float = Field(10, gt=0, le=3600)
    timeout_s: float = Field(5, gt=0, le=600)
    retries: PositiveInt = 3
    start_period_s: float = Field(30, ge=0, le=3600)
    tool: ProbeTool = "curl"
    expect_status: int = Field(200, ge=100, le=599)

    @model_validator(mode="after")
    def _timeout_below_interval(self) -> HealthCheck:
        if self.timeout_s > self.interval_s:
            raise ValueError("timeout_s must not exceed interval_s")
        return self

    @property
    def ready_within_s(self) -> float:
        """Upper bound for a healthy service to report healthy (used as wait timeouts)."""
        return self.start_period_s + self.interval_s * (self.retries + 1) + self.timeout_s


class Probes(Strict):
    """Kubernetes probe timings (seed 002): liveness 30/10/5/3, readiness 10/5/3/3."""

    liveness_delay_s: int = Field(30, ge=0)
    liveness_period_s: int = Field(10, ge=1)
    liveness_timeout_s: int = Field(5, ge=1)
    liveness_failures: int = Field(3, ge=1)
    readiness_delay_s: int = Field(10, ge=0)
    readiness_period_s: int = Field(5, ge=1)
    readiness_timeout_s: int = Field(3, ge=1)
    readiness_failures: int = Field(3, ge=1)
    startup_failures: int = Field(60, ge=1)


class LlamaServer(Strict):
    """llama-server settings: the flags an operator tunes after an OOM or for throughput."""

    model: str
    n_gpu_layers: int = Field(999, ge=0)
    parallel: PositiveInt = 1
    batch_size: PositiveInt = 128
    ctx_size: PositiveInt = 4096
    embeddings: bool = False
    metrics: bool = True
    extra_args: tuple[str, ...] = ()


class Gpu(Strict):
    """GPU devices a service needs; count 0 means it runs on CPU."""

    count: int = Field(1, ge=0, le=16)


class Volume(Strict):
    """A named volume or a host path mounted into the container."""

    source: str
    target: str = Field(pattern=r"^/")
    read_only: bool = False
    host_path: bool = False


class Resources(Strict):
    memory_mib: int | None = Field(None, ge=16)
    cpus: float | None = Field(None, gt=0)


class Service(Strict):
    """One row of the service table."""

    name: str = Field(pattern=r"^[a-z][a-z0-9-]{0,62}$")
    role: Role
    image: str = Field(min_length=1)
    port: int = Field(ge=1, le=65535)
    host_port: int | None = Field(None, ge=1, le=65535)
    publish: bool = True
    entrypoint: tuple[str, ...] | None = None
    command: tuple[str, ...] = ()
    env: dict[str, str] = Field(default_factory=dict)
    # environment variable -> Pulumi config secret key: the programs fill the value from the
    # secret (a Docker env / K8s Secret), so it never appears in the spec or a rendered file.
    secret_env: dict[str, str] = Field(default_factory=dict)
    health: HealthCheck = HealthCheck()
    probes: Probes = Probes()
    depends_on: tuple[str, ...] = ()
    llama: LlamaServer | None = None
    gpu: Gpu = Gpu(count=0)
    volumes: tuple[Volume, ...] = ()
    restart: RestartPolicy = "unless-stopped"
    resources: Resources = Resources()
    metrics_path: str | None = Field(None, pattern=r"^/")
    enabled: bool = True
    replicas: PositiveInt = 1

    @property
    def published_port(self) -> int:
        return self.host_port or self.port

    @property
    def health_port(self) -> int:
        return self.health.port or self.port


class Tuning(Strict):
    """The seed 004 `.env` knobs, under the names operators already use, with its defaults."""

    CHAT_N_GPU_LAYERS: int = Field(999, ge=0)
    CODE_N_GPU_LAYERS: int = Field(20, ge=0)
    LLAMA_PARALLEL: int = Field(1, ge=1, le=64)
    LLAMA_BATCH_SIZE: int = Field(128, ge=1, le=65536)
    LLM_REQUEST_TIMEOUT: float = Field(60, gt=0, le=3600)
    RAG_LLM_TIMEOUT: float = Field(120, gt=0, le=3600)
    QDRANT_TIMEOUT: float = Field(30, gt=0, le=3600)
    EMBEDDING_TIMEOUT: float = Field(30, gt=0, le=3600)
    QDRANT_MAX_RETRIES: int = Field(3, ge=0, le=100)
    QDRANT_RETRY_MIN_WAIT: float = Field(2, ge=0, le=600)
    QDRANT_RETRY_MAX_WAIT: float = Field(10, ge=0, le=3600)
    RAG_TOPK: int = Field(4, ge=1, le=1000)
    RAG_CHUNK_SIZE: int = Field(512, ge=16, le=65536)
    RAG_CHUNK_OVERLAP: int = Field(100, ge=0, le=65536)

    @model_validator(mode="after")
    def _consistent(self) -> Tuning:
        if self.QDRANT_RETRY_MIN_WAIT > self.QDRANT_RETRY_MAX_WAIT:
            raise ValueError("QDRANT_RETRY_MIN_WAIT must not exceed QDRANT_RETRY_MAX_WAIT")
        if self.RAG_CHUNK_OVERLAP >= self.RAG_CHUNK_SIZE:
            raise ValueError("RAG_CHUNK_OVERLAP must be smaller than RAG_CHUNK_SIZE")
        return self


def _gateway_routes() -> dict[str, tuple[str, ...]]:
    return {"chat": ("inference-chat", "inference-code"), "code": ("inference-code", "inference-chat")}


class Gateway(Strict):
    """LiteLLM router settings measured to lose no request when a primary dies."""

    cooldown_time_s: float = Field(5, ge=0, le=3600)
    allowed_fails: int = Field(0, ge=0)
    num_retries: int = Field(0, ge=0, le=10)
    health_check_interval_s: int = Field(10, ge=1, le=3600)
    # A hung backend (paused, deadlocked) must fail its health check quickly, not after
    # LiteLLM's 60 s default, or it keeps receiving traffic.
    health_check_timeout_s: float = Field(10, gt=0, le=600)
    # model group -> backends in priority order (first is the primary)
    routes: dict[str, tuple[str, ...]] = Field(default_factory=_gateway_routes)


class Platform(Strict):
    """A whole stack: where it runs and every enabled service."""

    stack: str
    target: Literal["compose", "eks"] = "compose"
    docker_host: str | None = None
    bind_address: str = "127.0.0.1"
    access_host: str = "127.0.0.1"
    # Where runbooks run from: the operator's host (published ports on `access_host`), or a
    # container on the stack network (the watch service: service names and container ports).
    vantage: Literal["host", "stack-network"] = "host"
    network: str = "inferops"
    gpu_host: bool = True
    pull_images: bool = True
    tuning: Tuning = Tuning()
    gateway: Gateway = Gateway()
    alerting: Alerting = Field(default_factory=Alerting)
    eks: Eks = Field(default_factory=Eks)
    gpu_layers: GpuLayers = Field(default_factory=GpuLayers)
    backup: Backup = Field(default_factory=Backup)
    reload: Reload = Field(default_factory=Reload)
    daily_check: DailyCheck = Field(default_factory=DailyCheck)
    watch: Watch = Field(default_factory=Watch)
    weekly_check: WeeklyCheck = Field(default_factory=WeeklyCheck)
    drills: Drills = Field(default_factory=Drills)
    services: dict[str, Service]

    def enabled(self) -> list[Service]:
        return [s for s in self.services.values() if s.enabled]

    def service(self, name: str) -> Service:
        """The enabled service `name`; UnknownService (a KeyError) names the ones that exist."""
        svc = self.services.get(name)
        if svc is None or not svc.enabled:
            known = ", ".join(s.name for s in self.enabled())
            raise UnknownService(f"unknown service {name!r} in stack {self.stack!r}; known: {known}")
        return svc

    def by_role(self, role: Role) -> list[Service]:
        return [s for s in self.enabled() if s.role is role]

    def url(self, svc: Service, path: str = "") -> str:
        """Address of a service as the runbooks reach it from their vantage point."""
        if self.vantage == "stack-network":
            return self.internal_url(svc, path)
        return f"http://{self.access_host}:{svc.published_port}{path}"

    def reachable(self, svc: Service) -> bool:
        """Whether `url(svc)` answers from the vantage point: an unpublished port only from inside."""
        return svc.publish or self.vantage == "stack-network"

    def internal_url(self, svc: Service, path: str = "") -> str:
        """Address of a service as other containers on the stack network reach it."""
        return f"http://{svc.name}:{svc.port}{path}"

    def dependents(self, name: str) -> list[str]:
        """Enabled services that depend on `name`, directly or not."""
        out: list[str] = []
        frontier = [name]
        while frontier:
            current = frontier.pop()
            for svc in self.enabled():
                if current in svc.depends_on and svc.name not in out:
                    out.append(svc.name)
                    frontier.append(svc.name)
        return out

    def start_order(self) -> list[list[str]]:
        """Enabled services in waves: each wave depends only on earlier waves."""
        remaining = {s.name: set(s.depends_on) for s in self.enabled()}
        waves: list[list[str]] = []
        done: set[str] = set()
        while remaining:
            wave = sorted(n for n, deps in remaining.items() if deps <= done)
            if not wave:
                raise ValueError(f"dependency cycle among {sorted(remaining)}")
            waves.append(wave)
            done.update(wave)
            for n in wave:
                del remaining[n]
        return waves
