"""A scripted OpenAI-compatible chat server, for tests only: it answers /v1/chat/completions from a
list of replies, so the whole client path (SDK, HTTP, tool-call parsing, usage) runs for real.

A reply is a dict: ``{"content": "..."}``, ``{"tool_calls": [{"name": ..., "arguments": {...} or "raw"}]}``,
or ``{"status": 429}`` (an error answer, retried by clients); or a function of the request that returns
one (to answer with what only the conversation so far tells, such as a file path). Optional ``usage``
overrides the counts (``prompt_tokens``, ``completion_tokens``, ``cached_tokens``); by default the
server counts one token per four characters of the request and of the reply.

The same script also answers Anthropic's ``/v1/messages`` (text and ``tool_use`` blocks, usage with
``cache_read_input_tokens``), for the Anthropic provider.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Reply = dict[str, Any] | Callable[[dict[str, Any]], dict[str, Any]]


class ScriptedLLM:
    def __init__(self, replies: Sequence[Reply], model: str = "scripted-model") -> None:
        self.replies = list(replies)
        self.model = model
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def next_reply(self, request: dict[str, Any]) -> dict[str, Any] | None:
        with self._lock:
            self.requests.append(request)
            if not self.replies:
                return None
            reply = self.replies.pop(0)
        return reply(request) if callable(reply) else reply

    def answer(self, request: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        reply = self.next_reply(request)
        if reply is None:
            return 500, {"error": {"message": "the script has no more replies", "type": "server_error"}}
        if "status" in reply:
            return int(reply["status"]), {"error": {"message": reply.get("message", "scripted error"), "type": "x"}}
        message: dict[str, Any] = {"role": "assistant", "content": reply.get("content")}
        calls = reply.get("tool_calls") or []
        if calls:
            message["tool_calls"] = [
                {
                    "id": f"call_{len(self.requests)}_{i}",
                    "type": "function",
                    "function": {
                        "name": call["name"],
                        "arguments": call["arguments"]
                        if isinstance(call["arguments"], str)
                        else json.dumps(call["arguments"]),
                    },
                }
                for i, call in enumerate(calls)
            ]
        counted = reply.get("usage") or {}
        prompt = int(counted.get("prompt_tokens", len(json.dumps(request.get("messages"))) // 4))
        completion = int(counted.get("completion_tokens", len(json.dumps(message)) // 4))
        body = {
            "id": f"chatcmpl-{len(self.requests)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": self.model,
            "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if calls else "stop"}],
            "usage": {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
                "prompt_tokens_details": {"cached_tokens": int(counted.get("cached_tokens", 0))},
            },
        }
        return 200, body

    def answer_anthropic(self, request: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        reply = self.next_reply(request)
        if reply is None:
            return 500, {"type": "error", "error": {"type": "api_error", "message": "the script has no more replies"}}
        if "status" in reply:
            kind = "rate_limit_error" if reply["status"] == 429 else "overloaded_error"
            return int(reply["status"]), {"type": "error", "error": {"type": kind, "message": "scripted error"}}
        content: list[dict[str, Any]] = []
        if reply.get("content"):
            content.append({"type": "text", "text": reply["content"]})
        for i, call in enumerate(reply.get("tool_calls") or []):
            arguments = call["arguments"] if isinstance(call["arguments"], dict) else json.loads(call["arguments"])
            content.append(
                {"type": "tool_use", "id": f"toolu_{len(self.requests)}_{i}", "name": call["name"], "input": arguments}
            )
        counted = reply.get("usage") or {}
        cached = int(counted.get("cached_tokens", 0))
        prompt = int(counted.get("prompt_tokens", len(json.dumps(request.get("messages"))) // 4))
        body = {
            "id": f"msg_{len(self.requests)}",
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": content,
            "stop_reason": "tool_use" if reply.get("tool_calls") else "end_turn",
            "stop_sequence": None,
            "usage": {
                "input_tokens": prompt - cached,
                "output_tokens": int(counted.get("completion_tokens", len(json.dumps(content)) // 4)),
                "cache_read_input_tokens": cached,
                "cache_creation_input_tokens": 0,
            },
        }
        return 200, body


@contextmanager
def scripted_llm(replies: Sequence[Reply], host: str = "127.0.0.1") -> Iterator[tuple[ScriptedLLM, str]]:
    """The scripted server listening on loopback, and its base URL (``http://host:port/v1``)."""
    script = ScriptedLLM(replies)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            try:
                request = json.loads(self.rfile.read(length) or b"{}")
            except ValueError:
                request = {}
            route = self.path.split("?")[0].rstrip("/")
            if route == "/v1/chat/completions":
                status, body = script.answer(request)
            elif route == "/v1/messages":
                status, body = script.answer_anthropic(request)
            else:
                status, body = 404, {"error": {"message": f"no route {self.path}", "type": "x"}}
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer((host, 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield script, f"http://{host}:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
