"""RagDouble: a TEST DOUBLE of the rag service (its image cannot be built or pulled here).

It implements the two endpoints the Qdrant runbooks use, as seed 004 describes them:
`GET /health` (200 only when Qdrant answers and the service is not held or scaled to 0) and
`POST /index?collection=<name>` (embed a fixed corpus and upsert it into Qdrant through the
official client, creating the collection if it is missing). `RagDouble` also acts as the target
that holds/releases the runbook's writer (`hold("rag")`, a docker pause), and can refuse to hold
(`fail_hold`), like an engine that lost the container. On Kubernetes the kube API double is the
target instead; `on_scale` ties this double to the rag Deployment there: at 0 replicas it answers
503, like a Service with no ready endpoints.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from werkzeug.wrappers import Request, Response

from runbooks.targets.base import TargetError
from tests.doubles.serving import LoopbackServer

CORPUS = [f"document {i}: notes about llama.cpp, LiteLLM failover and Qdrant snapshots" for i in range(12)]


def embed(text: str, dim: int) -> list[float]:
    """A deterministic stand-in embedding (sha256 bytes scaled to [-1, 1])."""
    raw = b""
    counter = 0
    while len(raw) < dim:
        raw += hashlib.sha256(f"{counter}:{text}".encode()).digest()
        counter += 1
    return [(b - 127.5) / 127.5 for b in raw[:dim]]


class RagDouble(LoopbackServer):
    """Test double of rag (`/health`, `/index`) and of the target that holds it."""

    thread_name = "rag-double"

    def __init__(self, qdrant_url: str, corpus: list[str] | None = None) -> None:
        super().__init__()
        self.qdrant_url = qdrant_url
        self.corpus = corpus if corpus is not None else CORPUS
        self.held = False
        self.fail_hold = False
        self.replicas: int | None = None  # pods of the rag Deployment, when tied to the kube double
        self.events: list[str] = []  # "hold rag", "release rag", "index default", "scale rag 0", ...

    # ---- the Target interface the restore runbook uses ------------------------------------------
    @property
    def where(self) -> str:
        return f"rag test double at {self.url}"

    def hold(self, service: str) -> None:
        if self.fail_hold:
            raise TargetError(f"no container for service {service!r} (rag test double told to fail)")
        self.events.append(f"hold {service}")
        self.held = True

    def release(self, service: str) -> None:
        self.events.append(f"release {service}")
        self.held = False

    # ---- tie to the rag Deployment of the kube API double (KubeApiDouble.on_replicas) -----------
    def on_scale(self, kind: str, name: str, replicas: int) -> None:
        if kind == "Deployment" and name == "rag":
            self.events.append(f"scale rag {replicas}")
            self.replicas = replicas

    # ---- HTTP ---------------------------------------------------------------------------------
    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        if self.held:
            response = Response("paused", status=503)
        elif self.replicas == 0:
            response = Response("no endpoints available for service rag (0 replicas)", status=503)
        elif request.path == "/health" and request.method == "GET":
            response = self._health()
        elif request.path == "/index" and request.method == "POST":
            response = self._index(request.args.get("collection", "default"))
        else:
            response = Response("not found", status=404)
        return response(environ, start_response)

    def _health(self) -> Response:
        import httpx

        try:
            ok = httpx.get(f"{self.qdrant_url}/readyz", timeout=2).status_code == 200
        except httpx.TransportError:
            ok = False
        return Response(json.dumps({"status": "ok" if ok else "qdrant unavailable"}), status=200 if ok else 503)

    def _index(self, collection: str) -> Response:
        from qdrant_client import QdrantClient, models

        self.events.append(f"index {collection}")
        client = QdrantClient(url=self.qdrant_url, check_compatibility=False)
        try:
            if not client.collection_exists(collection):
                client.create_collection(collection, vectors_config=models.VectorParams(size=8, distance="Cosine"))
            params = client.get_collection(collection).config.params.vectors
            dim = params.size if isinstance(params, models.VectorParams) else 8
            points = [
                models.PointStruct(id=i + 1, vector=embed(text, dim), payload={"text": text})
                for i, text in enumerate(self.corpus)
            ]
            client.upsert(collection, points=points, wait=True)
        finally:
            client.close()
        return Response(json.dumps({"indexed": len(self.corpus), "collection": collection}), status=200)
