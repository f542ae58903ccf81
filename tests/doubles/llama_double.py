"""A llama-server test double: the few OpenAI-shaped answers llama-server gives (`/health`,
`/v1/models`, `/v1/chat/completions`, plain and streamed as SSE ending in `data: [DONE]`), for
the fault proxy's unit tests. The live tier runs the proxy in front of the real llama-server."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from typing import Any

from aiohttp import web

WORDS = ["the", "quick", "brown", "fox", "jumps", "over", "the", "lazy", "dog", "again"]


def _chunk(i: int, word: str | None) -> bytes:
    delta: dict[str, Any] = {"content": f"{word} "} if word is not None else {}
    choice = {"index": 0, "delta": delta, "finish_reason": None if word is not None else "stop"}
    event = {"id": f"c{i}", "object": "chat.completion.chunk", "choices": [choice]}
    return b"data: " + json.dumps(event).encode() + b"\n\n"


class LlamaDouble:
    """Serves on 127.0.0.1 in its own thread and event loop; `url` once started."""

    def __init__(self) -> None:
        self.url = ""
        self.requests: list[str] = []
        self.stream_words: int | None = None  # end streams after this many words, in good order
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None

    async def _health(self, request: web.Request) -> web.Response:
        self.requests.append(request.path)
        return web.json_response({"status": "ok"})

    async def _models(self, request: web.Request) -> web.Response:
        self.requests.append(request.path)
        return web.json_response({"object": "list", "data": [{"id": "double", "object": "model"}]})

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(request.path)
        body = await request.json()
        if not body.get("stream"):
            message = {"role": "assistant", "content": " ".join(WORDS)}
            choice = {"index": 0, "message": message, "finish_reason": "stop"}
            return web.json_response({"id": "c0", "object": "chat.completion", "choices": [choice]})
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        for i, word in enumerate(WORDS[: self.stream_words]):
            await resp.write(_chunk(i, word))
        if self.stream_words is None:
            await resp.write(_chunk(len(WORDS), None) + b"data: [DONE]\n\n")
        await resp.write_eof()
        return resp

    def start(self) -> LlamaDouble:
        app = web.Application()
        app.router.add_get("/health", self._health)
        app.router.add_get("/v1/models", self._models)
        app.router.add_post("/v1/chat/completions", self._chat)
        ready = threading.Event()

        async def serve() -> None:
            self._runner = web.AppRunner(app, access_log=None)
            await self._runner.setup()
            sock = socket.create_server(("127.0.0.1", 0))
            await web.SockSite(self._runner, sock).start()
            self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
            ready.set()

        threading.Thread(target=self._loop.run_forever, daemon=True).start()
        asyncio.run_coroutine_threadsafe(serve(), self._loop)
        if not ready.wait(10):
            raise RuntimeError("the llama-server double did not start")
        return self

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
