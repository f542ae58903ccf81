"""RagDouble: a TEST DOUBLE of the rag service (its image cannot be built or pulled here).

It implements the two endpoints the Qdrant runbooks use, as seed 004 describes them:
`GET /health` (200 only when Qdrant answers and the service is not paused) and
`POST /index?collection=<name>` (embed a fixed corpus and upsert it into Qdrant through the
official client, creating the collection if it is missing). `RagDouble` also acts as the target
for the runbook's writer pause/unpause (`pause("rag")`), and can refuse to pause (`fail_pause`),
like an engine that lost the container.
"""

from __future__ import annotations

import hashlib
import json
import threading
from typing import Any

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from runbooks.targets.base import TargetError
from tests.doubles.qdrant_double import _QuietHandler

CORPUS = [f"document {i}: notes about llama.cpp, LiteLLM failover and Qdrant snapshots" for i in range(12)]


def embed(text: str, dim: int) -> list[float]:
    """A deterministic stand-in embedding (sha256 bytes scaled to [-1, 1])."""
    raw = b""
    counter = 0
    while len(raw) < dim:
        raw += hashlib.sha256(f"{counter}:{text}".encode()).digest()
        counter += 1
    return [(b - 127.5) / 127.5 for b in raw[:dim]]


class RagDouble:
    """Test double of rag (`/health`, `/index`) and of the target that pauses it."""

    def __init__(self, qdrant_url: str, corpus: list[str] | None = None) -> None:
        self.qdrant_url = qdrant_url
        self.corpus = corpus if corpus is not None else CORPUS
        self.paused = False
        self.fail_pause = False
        self.events: list[str] = []  # "pause rag", "unpause rag", "index default", ...
        self._server: Any = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> RagDouble:
        self._server = make_server("127.0.0.1", 0, self._wsgi, threaded=True, request_handler=_QuietHandler)
        self.port = self._server.server_port
        threading.Thread(target=self._server.serve_forever, args=(0.02,), name="rag-double", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> RagDouble:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- the Target interface the restore runbook uses ------------------------------------------
    @property
    def where(self) -> str:
        return f"rag test double at {self.url}"

    def pause(self, service: str) -> None:
        if self.fail_pause:
            raise TargetError(f"no container for service {service!r} (rag test double told to fail)")
        self.events.append(f"pause {service}")
        self.paused = True

    def unpause(self, service: str) -> None:
        self.events.append(f"unpause {service}")
        self.paused = False

    # ---- HTTP ---------------------------------------------------------------------------------
    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        if self.paused:
            response = Response("paused", status=503)
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
