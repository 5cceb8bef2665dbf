"""A stub LLM provider: a real HTTP server that speaks the OpenAI chat-completions and the
Anthropic Messages wire formats, streaming (SSE) included, with faults on demand.

Tests and benchmarks run the adapter against it instead of a vendor:

    async with StubLlmServer() as stub:
        stub.llm.fail("gpt-x", Fault(status=429, retry_after="1"), Fault(status=503))
        ... point a provider at stub.openai_base_url / stub.anthropic_base_url ...

Answers are deterministic ("Stub answer to: <the last user message>"), tokens are counted
at four characters each, and every request is recorded (`stub.llm.requests`) with the
moment it arrived. Faults are queued per model ("*" for any) and each is used by one
request: an error status (with `Retry-After`), a delay before the answer, a stream that
stalls between chunks, or a response cut off mid-body. `down` models always answer 503.
`ratelimit` adds `x-ratelimit-remaining-requests` / `x-ratelimit-reset-requests`.

`python -m pulse_stack.llm_stub --port P --latency-ms L` serves it on its own (the bench).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

import uvicorn

from pulse_stack.ports import free_port

__all__ = ["Fault", "RecordedRequest", "StubLlm", "StubLlmServer", "main"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


@dataclass(frozen=True)
class Fault:
    status: int | None = None
    """Answer with this HTTP status and an error body instead of a completion."""
    retry_after: str | None = None
    delay_s: float = 0.0
    """Wait this long before answering (a slow provider)."""
    stall_s: float = 0.0
    """Streaming: wait this long between chunks."""
    cut_after_chunks: int | None = None
    """Close the connection after this many body chunks (0: right after the headers)."""


@dataclass(frozen=True)
class RecordedRequest:
    path: str
    model: str
    stream: bool
    body: dict[str, Any]
    headers: dict[str, str]
    at: float
    """time.monotonic() when the request arrived."""


class _CutOff(Exception):
    """Raised inside the app to make the server drop the connection mid-response."""


def _tokens(text: str) -> int:
    return math.ceil(len(text) / 4)


@dataclass
class StubLlm:
    latency_s: float = 0.0
    down: set[str] = field(default_factory=set)
    ratelimit: tuple[int, str] | None = None
    requests: list[RecordedRequest] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    """The most requests the server was answering at once."""
    _faults: defaultdict[str, deque[Fault]] = field(default_factory=lambda: defaultdict(deque))

    def fail(self, model: str, *faults: Fault) -> None:
        """Queue faults for `model` ("*": any model), one per coming request."""
        self._faults[model].extend(faults)

    def clear(self) -> None:
        self._faults.clear()
        self.down.clear()
        self.requests.clear()
        self.max_in_flight = 0

    def _next_fault(self, model: str) -> Fault | None:
        for key in (model, "*"):
            if self._faults[key]:
                return self._faults[key].popleft()
        return None

    @staticmethod
    def answer_to(messages: list[dict[str, Any]]) -> str:
        last: dict[str, Any] = next((m for m in reversed(messages) if m.get("role") == "user"), {})
        content = last.get("content", "")
        if isinstance(content, list):  # content blocks
            content = " ".join(str(b.get("text", "")) for b in content if isinstance(b, dict))
        return f"Stub answer to: {str(content)[:200]}"

    # --- ASGI --------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                pass
            await send({"type": "lifespan.shutdown.complete"})
            return
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        path = scope["path"]
        if scope["method"] != "POST" or path not in ("/v1/chat/completions", "/v1/messages"):
            await self._json(send, 404, {"error": {"message": f"no route {path}"}})
            return
        try:
            payload = json.loads(body or b"{}")
        except ValueError:
            await self._json(send, 400, {"error": {"message": "body is not JSON"}})
            return
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        model = str(payload.get("model", ""))
        stream = bool(payload.get("stream"))
        self.requests.append(
            RecordedRequest(path, model, stream, payload, headers, time.monotonic())
        )
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await self._answer(send, payload, path, model, stream)
        finally:
            self.in_flight -= 1

    async def _answer(
        self, send: Send, payload: dict[str, Any], path: str, model: str, stream: bool
    ) -> None:
        fault = self._next_fault(model)
        delay = self.latency_s + (fault.delay_s if fault else 0.0)
        if delay:
            await asyncio.sleep(delay)
        anthropic = path == "/v1/messages"
        if model in self.down:
            fault = Fault(status=503)
        if fault is not None and fault.status is not None:
            await self._error(send, fault, anthropic)
            return
        if stream:
            await self._stream(send, payload, fault, anthropic)
        else:
            await self._complete(send, payload, fault, anthropic)

    def _rate_headers(self) -> list[tuple[bytes, bytes]]:
        if self.ratelimit is None:
            return []
        remaining, reset = self.ratelimit
        return [
            (b"x-ratelimit-remaining-requests", str(remaining).encode()),
            (b"x-ratelimit-reset-requests", reset.encode()),
        ]

    async def _json(
        self,
        send: Send,
        status: int,
        document: dict[str, Any],
        extra: tuple[tuple[bytes, bytes], ...] = (),
    ) -> None:
        data = json.dumps(document).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(data)).encode()),
                    *self._rate_headers(),
                    *extra,
                ],
            }
        )
        await send({"type": "http.response.body", "body": data})

    async def _error(self, send: Send, fault: Fault, anthropic: bool) -> None:
        status = fault.status or 500
        extra = ((b"retry-after", fault.retry_after.encode()),) if fault.retry_after else ()
        if anthropic:
            kind = "overloaded_error" if status == 529 else "api_error"
            document = {"type": "error", "error": {"type": kind, "message": f"stub {status}"}}
        else:
            document = {"error": {"message": f"stub {status}", "type": "stub_error"}}
        await self._json(send, status, document, extra)

    def _usage(self, payload: dict[str, Any], text: str) -> tuple[int, int]:
        prompt = sum(_tokens(str(m.get("content", ""))) for m in payload.get("messages", []))
        prompt += _tokens(str(payload.get("system", "")))
        return prompt, _tokens(text)

    def _text(self, payload: dict[str, Any]) -> str:
        text = self.answer_to(payload.get("messages", []))
        limit = payload.get("max_tokens") or payload.get("max_completion_tokens") or 4096
        return text[: int(limit) * 4]

    async def _complete(
        self, send: Send, payload: dict[str, Any], fault: Fault | None, anthropic: bool
    ) -> None:
        text = self._text(payload)
        prompt, completion = self._usage(payload, text)
        model = payload.get("model", "")
        if anthropic:
            document: dict[str, Any] = {
                "id": f"msg_{uuid.uuid4().hex[:24]}",
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": [{"type": "text", "text": text}],
                "stop_reason": "end_turn",
                "stop_sequence": None,
                "usage": {"input_tokens": prompt, "output_tokens": completion},
            }
        else:
            document = {
                "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": text, "refusal": None},
                        "logprobs": None,
                        "finish_reason": "stop",
                    }
                ],
                "usage": {
                    "prompt_tokens": prompt,
                    "completion_tokens": completion,
                    "total_tokens": prompt + completion,
                },
                "system_fingerprint": None,
            }
        if fault is not None and fault.cut_after_chunks is not None:
            data = json.dumps(document).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(data)).encode()),
                    ],
                }
            )
            await send(
                {"type": "http.response.body", "body": data[: len(data) // 2], "more_body": True}
            )
            raise _CutOff("cut off on purpose")
        await self._json(send, 200, document)

    def _openai_chunks(self, payload: dict[str, Any], text: str) -> list[str]:
        model = payload.get("model", "")
        base = {
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
            "system_fingerprint": None,
        }

        def chunk(delta: dict[str, Any], finish: str | None) -> str:
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
            return json.dumps({**base, "choices": [choice]})

        words = text.split(" ")
        chunks = [chunk({"role": "assistant", "content": ""}, None)]
        chunks += [chunk({"content": w if i == 0 else " " + w}, None) for i, w in enumerate(words)]
        chunks.append(chunk({}, "stop"))
        if (payload.get("stream_options") or {}).get("include_usage"):
            prompt, completion = self._usage(payload, text)
            usage = {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
            }
            chunks.append(json.dumps({**base, "choices": [], "usage": usage}))
        return [f"data: {c}\n\n" for c in chunks] + ["data: [DONE]\n\n"]

    def _anthropic_events(self, payload: dict[str, Any], text: str) -> list[str]:
        prompt, completion = self._usage(payload, text)
        events: list[tuple[str, dict[str, Any]]] = [
            (
                "message_start",
                {
                    "type": "message_start",
                    "message": {
                        "id": f"msg_{uuid.uuid4().hex[:24]}",
                        "type": "message",
                        "role": "assistant",
                        "model": payload.get("model", ""),
                        "content": [],
                        "stop_reason": None,
                        "usage": {"input_tokens": prompt, "output_tokens": 1},
                    },
                },
            ),
            (
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": 0,
                    "content_block": {"type": "text", "text": ""},
                },
            ),
            ("ping", {"type": "ping"}),
        ]
        for i, word in enumerate(text.split(" ")):
            delta = {"type": "text_delta", "text": word if i == 0 else " " + word}
            events.append(
                ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta})
            )
        events += [
            ("content_block_stop", {"type": "content_block_stop", "index": 0}),
            (
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                    "usage": {"output_tokens": completion},
                },
            ),
            ("message_stop", {"type": "message_stop"}),
        ]
        return [f"event: {name}\ndata: {json.dumps(data)}\n\n" for name, data in events]

    async def _stream(
        self, send: Send, payload: dict[str, Any], fault: Fault | None, anthropic: bool
    ) -> None:
        text = self._text(payload)
        frames = (
            self._anthropic_events(payload, text)
            if anthropic
            else self._openai_chunks(payload, text)
        )
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"text/event-stream"),
                    (b"cache-control", b"no-cache"),
                    *self._rate_headers(),
                ],
            }
        )
        cut = fault.cut_after_chunks if fault is not None else None
        stall = fault.stall_s if fault is not None else 0.0
        for index, frame in enumerate(frames):
            if cut is not None and index >= cut:
                raise _CutOff("stream cut off on purpose")
            if stall and index:
                await asyncio.sleep(stall)
            await send({"type": "http.response.body", "body": frame.encode(), "more_body": True})
        await send({"type": "http.response.body", "body": b""})


class StubLlmServer:
    """`StubLlm` served by uvicorn on 127.0.0.1 in the running event loop."""

    def __init__(self, llm: StubLlm | None = None, *, port: int | None = None) -> None:
        self.llm = llm or StubLlm()
        self.port = port or free_port()
        self._server = uvicorn.Server(
            uvicorn.Config(
                self.llm,
                host="127.0.0.1",
                port=self.port,
                log_level="critical",
                lifespan="off",
                access_log=False,
                timeout_keep_alive=30,
                timeout_graceful_shutdown=1,
            )
        )
        self._task: asyncio.Task[None] | None = None

    @property
    def server(self) -> uvicorn.Server:
        return self._server

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def openai_base_url(self) -> str:
        return f"{self.url}/v1"

    @property
    def anthropic_base_url(self) -> str:
        return self.url

    async def __aenter__(self) -> StubLlmServer:
        self._task = asyncio.create_task(self._server.serve())
        deadline = time.monotonic() + 20
        while not self._server.started:
            if self._task.done():
                self._task.result()
            if time.monotonic() > deadline:
                raise TimeoutError("the stub LLM server did not start")
            await asyncio.sleep(0.02)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._server.should_exit = True
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(self._task, 10)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m pulse_stack.llm_stub", description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    args = parser.parse_args(argv)
    stub = StubLlmServer(StubLlm(latency_s=args.latency_ms / 1000), port=args.port)
    print(f"stub LLM at {stub.url}", flush=True)
    stub.server.run()  # until SIGINT or SIGTERM


if __name__ == "__main__":
    main()
