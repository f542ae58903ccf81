"""The seed's fallback when no usable snapshot exists: recreate the collection, reindex through RAG.

Seed 004 scenario 2 deletes Qdrant's data and calls `POST /index?collection=default` on the rag
service. Here the collection is recreated with the config of its last manifest (or the config it
had), after the restore runbook has kept a verified copy of it, and the points count is reported
before and after.
"""

from __future__ import annotations

import time
from typing import Any

from runbooks.qdrant import ops
from runbooks.qdrant.connection import Qdrant
from runbooks.qdrant.errors import QdrantError


class RagError(QdrantError):
    """The rag service did not do what the runbook needs (health, index)."""


def recreate(q: Qdrant, name: str, config: dict[str, Any]) -> None:
    """Drop `name` (if present) and create it empty with the vectors config from `config`."""
    from qdrant_client import models

    params = config.get("params", {})
    vectors = params.get("vectors")
    if not vectors:
        raise QdrantError(f"no vectors config known for {name!r}: cannot recreate it (no manifest, no collection)")
    if "size" in vectors:
        vectors_config: Any = models.VectorParams.model_validate(vectors)
    else:
        vectors_config = {k: models.VectorParams.model_validate(v) for k, v in vectors.items()}
    sparse = params.get("sparse_vectors")
    sparse_config = {k: models.SparseVectorParams.model_validate(v) for k, v in sparse.items()} if sparse else None
    if ops.exists(q, name):
        q.call(f"delete collection {name!r}", q.client.delete_collection, name)
    q.call(
        f"create collection {name!r}",
        q.client.create_collection,
        name,
        vectors_config=vectors_config,
        sparse_vectors_config=sparse_config,
    )


def index(rag_url: str, name: str, timeout_s: float) -> dict[str, Any]:
    """RAG `POST /index?collection=<name>`; its answer is kept in the record."""
    import httpx

    started = time.monotonic()
    try:
        resp = httpx.post(f"{rag_url}/index", params={"collection": name}, timeout=timeout_s)
    except httpx.TransportError as err:
        raise RagError(f"rag at {rag_url} did not answer POST /index: {type(err).__name__}: {err}") from None
    if resp.status_code >= 300:
        raise RagError(
            f"rag at {rag_url} answered {resp.status_code} to POST /index?collection={name}: {resp.text[:200]}"
        )
    try:
        body: Any = resp.json()
    except ValueError:
        body = resp.text[:200]
    return {"index_seconds": round(time.monotonic() - started, 3), "rag_answer": body}


def rag_healthy(rag_url: str, timeout_s: float, max_interval_s: float = 1.0) -> float:
    """Poll RAG `/health` until 200; returns seconds waited (seed 004: rag /health is 200 when its deps are)."""
    import httpx

    started = time.monotonic()
    last = "no answer"
    interval_s = 0.05
    while True:
        try:
            resp = httpx.get(f"{rag_url}/health", timeout=min(5.0, timeout_s))
            if resp.status_code == 200:
                return round(time.monotonic() - started, 3)
            last = f"{resp.status_code} {resp.text[:100]}"
        except httpx.TransportError as err:
            last = f"{type(err).__name__}: {err}"
        if time.monotonic() - started >= timeout_s:
            raise RagError(f"rag at {rag_url} not healthy after {timeout_s:.0f} s: {last}")
        time.sleep(interval_s)
        interval_s = min(interval_s * 2, max_interval_s)
