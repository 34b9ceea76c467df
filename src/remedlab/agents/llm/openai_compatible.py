"""Any OpenAI-compatible chat endpoint (OpenAI, DashScope/Qwen, DeepSeek, vLLM, Ollama, llama.cpp server)
through the official ``openai`` SDK, with tool calling.

Token counts come from the response's ``usage`` (cached input tokens where the
provider reports them). The SDK retries 429 and 5xx answers with exponential
back-off (``max_retries``); a call that still fails raises :class:`ChatError`.
"""

from __future__ import annotations

import time
from typing import Any

import openai

from remedlab.agents.llm.chat import ChatError, Message, Reply, ToolCall, ToolSpec, Usage, call_failed

DEFAULT_TIMEOUT = 120.0
DEFAULT_RETRIES = 3


class OpenAICompatible:
    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_RETRIES,
        temperature: float | None = None,
    ) -> None:
        self.name = model
        self.model = model
        self.temperature = temperature
        self._client = openai.OpenAI(
            api_key=api_key or "unused", base_url=base_url, timeout=timeout, max_retries=max_retries
        )

    def complete(self, messages: list[Message], tools: list[ToolSpec] | None = None) -> Reply:
        request: dict[str, Any] = {"model": self.model, "messages": [m.to_openai() for m in messages]}
        if tools:
            request["tools"] = [t.to_openai() for t in tools]
        if self.temperature is not None:
            request["temperature"] = self.temperature
        started = time.monotonic()
        try:
            raw = self._client.chat.completions.with_raw_response.create(**request)
            response = raw.parse()
        except openai.APIError as exc:
            raise call_failed(self.model, exc) from exc
        seconds = time.monotonic() - started
        if not response.choices:
            raise ChatError(f"{self.model}: the answer has no choices")
        choice = response.choices[0]
        calls = tuple(
            ToolCall.parse(call.id, call.function.name, call.function.arguments or "")
            for call in choice.message.tool_calls or []
            if getattr(call, "function", None) is not None
        )
        usage = response.usage
        cached = 0
        if usage is not None and usage.prompt_tokens_details is not None:
            cached = usage.prompt_tokens_details.cached_tokens or 0
        return Reply(
            message=Message("assistant", choice.message.content or "", calls),
            usage=Usage(
                usage.prompt_tokens if usage else 0,
                usage.completion_tokens if usage else 0,
                cached,
            ),
            seconds=seconds,
            model=response.model or self.model,
            finish_reason=choice.finish_reason or "",
            attempts=int(raw.retries_taken) + 1,
            raw=response.model_dump(mode="json"),
        )
