"""The one interface agents use to talk to a chat model: messages in, a reply (text or tool calls) out,
with the real token usage the provider reported and the time the call took."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

Role = Literal["system", "user", "assistant", "tool"]


@dataclass(frozen=True)
class ToolSpec:
    """A tool the model may call: its name, what it does, and its arguments' JSON schema."""

    name: str
    description: str
    parameters: dict[str, Any]

    def to_openai(self) -> dict[str, Any]:
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": self.parameters},
        }


@dataclass(frozen=True)
class ToolCall:
    """A call the model asked for. ``arguments`` is None when the model's JSON did not parse (``raw`` keeps it)."""

    id: str
    name: str
    arguments: dict[str, Any] | None
    raw: str

    @classmethod
    def parse(cls, call_id: str, name: str, raw: str) -> ToolCall:
        try:
            value = json.loads(raw) if raw.strip() else {}
        except ValueError:
            return cls(call_id, name, None, raw)
        return cls(call_id, name, value if isinstance(value, dict) else None, raw)


@dataclass(frozen=True)
class Message:
    role: Role
    content: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None

    def to_openai(self) -> dict[str, Any]:
        out: dict[str, Any] = {"role": self.role, "content": self.content}
        if self.tool_calls:
            out["tool_calls"] = [
                {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.raw}}
                for c in self.tool_calls
            ]
        if self.tool_call_id is not None:
            out["tool_call_id"] = self.tool_call_id
        return out


@dataclass(frozen=True)
class Usage:
    """Tokens as the provider counted them (never estimated)."""

    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cached_tokens + other.cached_tokens,
        )

    @property
    def total(self) -> int:
        return self.input_tokens + self.output_tokens


@dataclass(frozen=True)
class Reply:
    message: Message
    usage: Usage
    seconds: float
    model: str
    finish_reason: str = ""
    attempts: int = 1
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def tool_calls(self) -> tuple[ToolCall, ...]:
        return self.message.tool_calls


def first_line(text: str) -> str:
    """The first line of a provider's error text, for one-line messages."""
    stripped = (text or "").strip()
    return stripped.splitlines()[0][:300] if stripped else "no detail"


class ChatError(Exception):
    """A call to the model failed for good (after retries); the message says why in one line."""


def call_failed(model: str, exc: Exception) -> ChatError:
    """One line for an SDK's failure: the HTTP status and the provider's message, or why it could not
    be reached (both SDKs' errors carry ``status_code`` and ``message`` alike)."""
    status = getattr(exc, "status_code", None)
    if status is not None:
        return ChatError(f"{model}: HTTP {status}: {first_line(str(getattr(exc, 'message', exc)))}")
    if "Connection" in type(exc).__name__ or "Timeout" in type(exc).__name__:
        return ChatError(f"{model}: cannot reach the endpoint: {first_line(str(exc))}")
    return ChatError(f"{model}: {first_line(str(exc))}")


class ChatModel(Protocol):
    """A chat model with tool calling."""

    name: str

    def complete(self, messages: list[Message], tools: list[ToolSpec] | None = None) -> Reply: ...
