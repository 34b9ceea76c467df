"""Anthropic's Messages API through its official SDK, with tool use.

Token counts come from the response's ``usage``: input tokens here include prompt-cache reads and
writes (Anthropic reports them apart), and ``cached_tokens`` are the cache reads. The SDK retries
429, 529 and 5xx answers with back-off (``max_retries``); a call that still fails raises ChatError.
"""

from __future__ import annotations

import json
import time
from typing import Any

import anthropic

from remedlab.agents.llm.chat import Message, Reply, ToolCall, ToolSpec, Usage, call_failed

DEFAULT_TIMEOUT = 120.0
DEFAULT_RETRIES = 3
DEFAULT_MAX_TOKENS = 4096


def to_anthropic(messages: list[Message]) -> tuple[str, list[dict[str, Any]]]:
    """The system text, and the turns as Anthropic wants them: tool results go back in user turns, and
    consecutive turns of one role are merged (the API needs user and assistant to alternate)."""
    system = "\n\n".join(m.content for m in messages if m.role == "system")
    turns: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "system":
            continue
        blocks: list[dict[str, Any]] = []
        if message.role == "tool":
            role = "user"
            blocks.append(
                {
                    "type": "tool_result",
                    "tool_use_id": message.tool_call_id or "",
                    "content": message.content or "(empty)",
                }
            )
        else:
            role = message.role
            if message.content:
                blocks.append({"type": "text", "text": message.content})
            for call in message.tool_calls:
                blocks.append({"type": "tool_use", "id": call.id, "name": call.name, "input": call.arguments or {}})
        if not blocks:
            blocks.append({"type": "text", "text": "(empty)"})
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    return system, turns


class AnthropicNative:
    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_RETRIES,
        max_tokens: int = DEFAULT_MAX_TOKENS,
        temperature: float | None = None,
    ) -> None:
        self.name = model
        self.model = model
        self.max_tokens = max_tokens
        self.temperature = temperature
        self._client = anthropic.Anthropic(
            api_key=api_key or "unused", base_url=base_url, timeout=timeout, max_retries=max_retries
        )

    def complete(self, messages: list[Message], tools: list[ToolSpec] | None = None) -> Reply:
        system, turns = to_anthropic(messages)
        request: dict[str, Any] = {"model": self.model, "max_tokens": self.max_tokens, "messages": turns}
        if system:
            request["system"] = system
        if tools:
            request["tools"] = [
                {"name": t.name, "description": t.description, "input_schema": t.parameters} for t in tools
            ]
        if self.temperature is not None:
            request["temperature"] = self.temperature
        started = time.monotonic()
        try:
            raw = self._client.messages.with_raw_response.create(**request)
            response: Any = raw.parse()
        except anthropic.APIError as exc:
            raise call_failed(self.model, exc) from exc
        seconds = time.monotonic() - started
        text: list[str] = []
        calls: list[ToolCall] = []
        for block in response.content or []:
            if block.type == "text":
                text.append(block.text)
            elif block.type == "tool_use":
                arguments = block.input if isinstance(block.input, dict) else None
                calls.append(ToolCall(block.id, block.name, arguments, json.dumps(block.input)))
        usage = response.usage
        cache_read = int(getattr(usage, "cache_read_input_tokens", 0) or 0)
        cache_write = int(getattr(usage, "cache_creation_input_tokens", 0) or 0)
        return Reply(
            message=Message("assistant", "\n".join(text), tuple(calls)),
            usage=Usage(int(usage.input_tokens) + cache_read + cache_write, int(usage.output_tokens), cache_read),
            seconds=seconds,
            model=response.model or self.model,
            finish_reason=response.stop_reason or "",
            attempts=int(raw.retries_taken) + 1,
            raw=response.model_dump(mode="json"),
        )
