"""A llama-server test double: the answers llama-server gives that the tests need — `/health`,
`/slots` and `/metrics` (with values a test sets), `/v1/models`, `/v1/chat/completions` plain and
streamed as SSE ending in `data: [DONE]`. The fault proxy's and the halt conditions' unit tests
use it; the live tier runs the real llama-server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from tests.doubles.serving import LoopbackServer

WORDS = ["the", "quick", "brown", "fox", "jumps", "over", "the", "lazy", "dog", "again"]


def _chunk(i: int, word: str | None) -> bytes:
    delta: dict[str, Any] = {"content": f"{word} "} if word is not None else {}
    choice = {"index": 0, "delta": delta, "finish_reason": None if word is not None else "stop"}
    event = {"id": f"c{i}", "object": "chat.completion.chunk", "choices": [choice]}
    return b"data: " + json.dumps(event).encode() + b"\n\n"


class LlamaDouble(LoopbackServer):
    """Serves on 127.0.0.1 (`url`); a test sets `busy` slots, `deferred` requests, `stream_words`."""

    thread_name = "llama-double"

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[str] = []
        self.busy = 0
        self.deferred = 0.0
        self.stream_words: int | None = None  # end streams after this many words, in good order

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        path = environ["PATH_INFO"]
        self.requests.append(path)
        if path == "/health":
            return self._send(start_response, {"status": "ok"})
        if path == "/slots":
            return self._send(start_response, [{"id": i, "is_processing": i < self.busy} for i in range(2)])
        if path == "/metrics":
            start_response("200 OK", [("Content-Type", "text/plain")])
            return iter([f"llamacpp:requests_deferred {self.deferred}\n".encode()])
        if path == "/v1/models":
            return self._send(start_response, {"object": "list", "data": [{"id": "double", "object": "model"}]})
        if path == "/v1/chat/completions" and environ["REQUEST_METHOD"] == "POST":
            size = int(environ.get("CONTENT_LENGTH") or 0)
            body = json.loads(environ["wsgi.input"].read(size) or b"{}")
            if body.get("stream"):
                start_response("200 OK", [("Content-Type", "text/event-stream")])
                return self._stream()
            message = {"role": "assistant", "content": " ".join(WORDS)}
            choice = {"index": 0, "message": message, "finish_reason": "stop"}
            return self._send(start_response, {"id": "c0", "object": "chat.completion", "choices": [choice]})
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return iter([b"not in the llama-server double"])

    @staticmethod
    def _send(start_response: Any, data: Any) -> Iterator[bytes]:
        body = json.dumps(data).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return iter([body])

    def _stream(self) -> Iterator[bytes]:
        """One event per word (no Content-Length: the dev server sends it chunked, as llama-server does)."""
        for i, word in enumerate(WORDS[: self.stream_words]):
            yield _chunk(i, word)
        if self.stream_words is None:
            yield _chunk(len(WORDS), None) + b"data: [DONE]\n\n"
