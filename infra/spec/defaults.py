"""The default platform: seed 004's compose stack plus its monitoring, as one service table.

Ports, health endpoints and start order are the seed's (inference-chat :8001, inference-code :8004,
api-gateway :8000, rag :8002, embedding :8003, qdrant :6333); stack config overrides them.
"""

from __future__ import annotations

from infra.spec.model import (
    Gpu,
    HealthCheck,
    LlamaServer,
    Resources,
    Role,
    Service,
    Tuning,
    Volume,
)

# Official images, pinned by tag. Stack config (`inferops:images`) replaces any of them.
DEFAULT_IMAGES: dict[str, str] = {
    "llama-server": "ghcr.io/ggml-org/llama.cpp:server-cuda-b7100",
    "litellm": "ghcr.io/berriai/litellm:v1.110.2-stable",
    "qdrant": "qdrant/qdrant:v1.19.0",
    "rag": "ghcr.io/inferops/rag:1.0.0",
    "prometheus": "prom/prometheus:v3.7.3",
    # v0.30.0, not v0.29.0: the pinned version is also built here from the Go module proxy
    # (infra/monitoring), which serves v0.28.1 and v0.30.0 onwards but no v0.29.0. Forward, not back:
    # 0.30.0's only [CHANGE] is internal (#4707); going back to 0.28.1 would drop 0.29's fixes.
    "alertmanager": "prom/alertmanager:v0.30.0",
    "grafana": "grafana/grafana:12.3.0",
    "node-exporter": "prom/node-exporter:v1.10.2",
    "dcgm-exporter": "nvcr.io/nvidia/k8s/dcgm-exporter:4.4.1-4.6.0-ubuntu22.04",
    "cadvisor": "gcr.io/cadvisor/cadvisor:v0.52.1",
    # No upstream image: built here (`invoke images.build --only alert-sink`), test stacks only.
    "alert-sink": "inferops/alert-sink:local",
    # No upstream image: built by `invoke images.build --only synology-relay` (images/synology-relay).
    "synology-relay": "inferops/synology-relay:local",
    # No upstream image: built by `invoke images.build --only watch` (images/watch) on the host.
    "watch": "inferops/watch:local",
}

# Environment variables filled from Pulumi config secrets (a row's `secret_env`).
GATEWAY_KEY_ENV = "LITELLM_MASTER_KEY"
SYNOLOGY_URL_ENV = "SYNOLOGY_WEBHOOK_URL"

# Which seed knob sets each inference server's GPU layers (seed 004 "GPU 레이어 조정").
GPU_LAYER_KNOBS: dict[str, str] = {
    "inference-chat": "CHAT_N_GPU_LAYERS",
    "inference-code": "CODE_N_GPU_LAYERS",
}

# The watch as a service of the stack it watches (the `watch` row; infra/render/watch.py renders
# its command, secrets and the platform file it reads).
WATCH_SERVICE = "watch"
PLATFORM_FILE_ENV = "INFEROPS_PLATFORM_FILE"  # the deployed platform as JSON (stackconfig reads it)
HOST_ROOT_ENV = "INFEROPS_HOST_ROOT"  # where the host's / is mounted: the disk check reads mounts under it

MODELS_VOLUME = Volume(source="models", target="/models", read_only=True)

# Model loads take minutes on a real GPU host: give health checks a long start period.
_LLAMA_HEALTH = HealthCheck(path="/health", interval_s=10, timeout_s=5, retries=3, start_period_s=300)


def _inference(name: str, port: int, model: str, tuning: Tuning, images: dict[str, str]) -> Service:
    return Service(
        name=name,
        role=Role.INFERENCE,
        image=images["llama-server"],
        port=port,
        llama=LlamaServer(
            model=model,
            n_gpu_layers=getattr(tuning, GPU_LAYER_KNOBS[name]),
            parallel=tuning.LLAMA_PARALLEL,
            batch_size=tuning.LLAMA_BATCH_SIZE,
            ctx_size=4096,
        ),
        gpu=Gpu(count=1),
        health=_LLAMA_HEALTH,
        volumes=(MODELS_VOLUME,),
        metrics_path="/metrics",
    )


def default_services(tuning: Tuning, images: dict[str, str]) -> dict[str, Service]:
    """Seed 004's services with its start order: backends, then gateway, then rag."""
    services = [
        _inference("inference-chat", 8001, "/models/chat.gguf", tuning, images),
        _inference("inference-code", 8004, "/models/code.gguf", tuning, images),
        Service(
            name="embedding",
            role=Role.EMBEDDING,
            image=images["llama-server"],
            port=8003,
            llama=LlamaServer(
                model="/models/embedding.gguf",
                n_gpu_layers=999,
                parallel=tuning.LLAMA_PARALLEL,
                batch_size=512,
                ctx_size=2048,
                embeddings=True,
            ),
            gpu=Gpu(count=1),
            health=_LLAMA_HEALTH,
            volumes=(MODELS_VOLUME,),
            metrics_path="/metrics",
        ),
        Service(
            name="qdrant",
            role=Role.VECTOR_DB,
            image=images["qdrant"],
            port=6333,
            health=HealthCheck(path="/readyz", tool="bash-tcp", start_period_s=20),
            volumes=(Volume(source="qdrant-data", target="/qdrant/storage"),),
            metrics_path="/metrics",
        ),
        Service(
            name="api-gateway",
            role=Role.GATEWAY,
            image=images["litellm"],
            port=8000,
            command=("--config", "/etc/litellm/config.yaml", "--port", "8000"),
            # runbook.reload moves traffic by DNS (docs/runbooks/reload.md): a short DNS cache
            # (LiteLLM's default is 300 s), and no reuse of backend connections (aiohttp hands out
            # its oldest pooled one first, so a grown pool never idles out and blocks a drain).
            env={
                "LITELLM_LOCAL_MODEL_COST_MAP": "True",
                "AIOHTTP_TTL_DNS_CACHE": "2",
                "AIOHTTP_KEEPALIVE_TIMEOUT": "0",
            },
            secret_env={GATEWAY_KEY_ENV: "gatewayMasterKey"},
            health=HealthCheck(path="/health/liveliness", tool="python", start_period_s=60),
            depends_on=("inference-chat", "inference-code"),
            metrics_path="/metrics/",
            resources=Resources(memory_mib=2048),
        ),
        Service(
            name="rag",
            role=Role.RAG,
            image=images["rag"],
            port=8002,
            env={
                "QDRANT_URL": "http://qdrant:6333",
                "EMBEDDING_URL": "http://embedding:8003/v1",
                "LLM_BASE_URL": "http://api-gateway:8000/v1",
                "LLM_REQUEST_TIMEOUT": _num(tuning.LLM_REQUEST_TIMEOUT),
                "RAG_LLM_TIMEOUT": _num(tuning.RAG_LLM_TIMEOUT),
                "QDRANT_TIMEOUT": _num(tuning.QDRANT_TIMEOUT),
                "EMBEDDING_TIMEOUT": _num(tuning.EMBEDDING_TIMEOUT),
                "QDRANT_MAX_RETRIES": str(tuning.QDRANT_MAX_RETRIES),
                "QDRANT_RETRY_MIN_WAIT": _num(tuning.QDRANT_RETRY_MIN_WAIT),
                "QDRANT_RETRY_MAX_WAIT": _num(tuning.QDRANT_RETRY_MAX_WAIT),
                "RAG_TOPK": str(tuning.RAG_TOPK),
                "RAG_CHUNK_SIZE": str(tuning.RAG_CHUNK_SIZE),
                "RAG_CHUNK_OVERLAP": str(tuning.RAG_CHUNK_OVERLAP),
            },
            health=HealthCheck(path="/health", tool="curl", start_period_s=30),
            depends_on=("qdrant", "embedding", "api-gateway"),
            metrics_path="/metrics",
        ),
        Service(
            name="prometheus",
            role=Role.MONITORING,
            image=images["prometheus"],
            port=9090,
            command=(
                "--config.file=/etc/prometheus/prometheus.yml",
                "--storage.tsdb.path=/prometheus",
                "--storage.tsdb.retention.time=15d",
                "--web.enable-lifecycle",
            ),
            health=HealthCheck(path="/-/ready", tool="wget", start_period_s=15),
            volumes=(Volume(source="prometheus-data", target="/prometheus"),),
            metrics_path="/metrics",
        ),
        Service(
            name="alertmanager",
            role=Role.MONITORING,
            image=images["alertmanager"],
            port=9093,
            command=(
                "--config.file=/etc/alertmanager/alertmanager.yml",
                "--storage.path=/alertmanager",
            ),
            health=HealthCheck(path="/-/ready", tool="wget", start_period_s=10),
            volumes=(Volume(source="alertmanager-data", target="/alertmanager"),),
            metrics_path="/metrics",
        ),
        Service(
            name="grafana",
            role=Role.MONITORING,
            image=images["grafana"],
            port=3000,
            health=HealthCheck(path="/api/health", tool="wget", start_period_s=30),
            depends_on=("prometheus",),
            volumes=(Volume(source="grafana-data", target="/var/lib/grafana"),),
        ),
        Service(
            name="node-exporter",
            role=Role.MONITORING,
            image=images["node-exporter"],
            port=9100,
            command=("--path.rootfs=/host",),
            health=HealthCheck(path="/metrics", tool="wget", start_period_s=5),
            volumes=(Volume(source="/", target="/host", read_only=True, host_path=True),),
            metrics_path="/metrics",
        ),
        Service(
            name="dcgm-exporter",
            role=Role.MONITORING,
            image=images["dcgm-exporter"],
            port=9400,
            gpu=Gpu(count=1),
            health=HealthCheck(path="/health", tool="curl", start_period_s=30),
            metrics_path="/metrics",
        ),
        # Per-container metrics on a Docker host (ContainerRestarting, container memory panels);
        # EKS skips it (monitoring role: kube-state-metrics and the kubelet's cAdvisor cover it).
        # Restarts show as new series (docker label `restartcount`, a new container id): keep
        # cAdvisor's default of exporting container labels.
        Service(
            name="cadvisor",
            role=Role.MONITORING,
            image=images["cadvisor"],
            port=8080,
            # Prometheus scrapes it on the stack network; not published, so its 8080 never
            # collides with a host port and its view of every container stays off the LAN.
            publish=False,
            command=("--docker_only=true",),
            health=HealthCheck(path="/healthz", tool="wget", start_period_s=10),
            volumes=(
                Volume(source="/", target="/rootfs", read_only=True, host_path=True),
                Volume(source="/var/run", target="/var/run", read_only=True, host_path=True),
                Volume(source="/sys", target="/sys", read_only=True, host_path=True),
                Volume(source="/var/lib/docker", target="/var/lib/docker", read_only=True, host_path=True),
            ),
            metrics_path="/metrics",
        ),
        # Synology Chat wants a form field `payload` (seed 000), which Alertmanager cannot send:
        # a `synology` receiver posts here (images/synology-relay). The incoming-webhook URL is
        # the secret alertSynologyWebhookUrl, handed over as an env var. Off by default; a stack
        # with a synology receiver enables it (stackconfig checks the pairing).
        Service(
            name="synology-relay",
            role=Role.MONITORING,
            image=images["synology-relay"],
            port=9097,
            publish=False,
            command=("--port", "9097"),
            secret_env={SYNOLOGY_URL_ENV: "alertSynologyWebhookUrl"},
            health=HealthCheck(path="/health", tool="python", start_period_s=5),
            enabled=False,
        ),
        # runbook.watch in a container of the stack (seed 000's agent; off by default, a GPU host
        # enables it or installs the systemd timer instead): cycles every watch.interval_s,
        # containers through the Docker socket, services by name on the stack network, the host's
        # disks under /host, its heartbeat at /metrics for Prometheus (WatchStopped).
        Service(
            name=WATCH_SERVICE,
            role=Role.MONITORING,
            image=images["watch"],
            port=9098,
            publish=False,
            env={
                PLATFORM_FILE_ENV: "/etc/inferops/platform.json",
                "INFEROPS_WATCH_STATE_DIR": "/var/lib/inferops-watch/state",
                "INFEROPS_RUNS_DIR": "/var/lib/inferops-watch/runs",
                HOST_ROOT_ENV: "/host",
                "PYTHONUNBUFFERED": "1",
            },
            health=HealthCheck(path="/metrics", tool="python", start_period_s=60),
            volumes=(
                Volume(source="watch-data", target="/var/lib/inferops-watch"),
                Volume(source="/var/run/docker.sock", target="/var/run/docker.sock", host_path=True),
                Volume(source="/", target="/host", read_only=True, host_path=True),
            ),
            metrics_path="/metrics",
            enabled=False,
        ),
        # Test support: a webhook receiver standing in for the chat/pager webhooks a test stack
        # cannot reach (images/alert-sink). Off by default; the local stack enables it.
        Service(
            name="alert-sink",
            role=Role.TEST_SUPPORT,
            image=images["alert-sink"],
            port=9099,
            command=("--port", "9099"),
            health=HealthCheck(path="/health", tool="curl", interval_s=2, timeout_s=2, start_period_s=5),
            enabled=False,
        ),
    ]
    return {s.name: s for s in services}


def _num(value: float) -> str:
    """Seconds as the seed writes them: `60`, not `60.0`."""
    return str(int(value)) if float(value).is_integer() else str(value)
