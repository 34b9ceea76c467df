"""Tool calling for models without native tool calls, in the ReAct text format
(``Action:`` / ``Action Input:``): the tools are described in the system prompt, earlier calls and
their results are written back as text, and the model's answer is parsed into a tool call."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from importlib import resources
from string import Template

from remedlab.agents.llm.chat import ChatModel, Message, Reply, ToolCall, ToolSpec

ACTION = re.compile(r"^\s*Action\s*:\s*`?([A-Za-z_][\w.-]*)`?\s*$", re.MULTILINE)
ACTION_INPUT = re.compile(r"^\s*Action\s+Input\s*:\s*", re.MULTILINE)
FENCE = re.compile(r"^```[\w-]*\n(.*?)\n?```\s*$", re.DOTALL)


def describe_tools(tools: list[ToolSpec]) -> str:
    template = Template(resources.files("remedlab.agents.llm").joinpath("text_tools.md").read_text())
    lines = [f"- {t.name}: {t.description}\n  arguments (JSON schema): {json.dumps(t.parameters)}" for t in tools]
    return template.substitute(tools="\n".join(lines))


def as_text(messages: list[Message]) -> list[Message]:
    """The conversation with tool calls and tool results written out as ReAct text."""
    out: list[Message] = []
    for message in messages:
        if message.role == "assistant" and message.tool_calls:
            calls = "\n".join(f"Action: {c.name}\nAction Input: {c.raw}" for c in message.tool_calls)
            text = message.content if ACTION.search(message.content or "") else f"{message.content}\n{calls}".strip()
            out.append(Message("assistant", text))
        elif message.role == "tool":
            out.append(Message("user", f"Observation: {message.content}"))
        else:
            out.append(Message(message.role, message.content))
    return out


def parse_action(text: str, tools: list[ToolSpec], call_id: str) -> ToolCall | None:
    """The first ``Action:`` in the text as a tool call, or None when there is none.

    A tool with a single string argument also takes a plain (non-JSON) input, such as YAML."""
    action = ACTION.search(text)
    if action is None:
        return None
    name = action.group(1)
    rest = text[action.end() :]
    found = ACTION_INPUT.search(rest)
    raw = rest[found.end() :] if found else ""
    raw = re.split(r"^\s*Observation\s*:", raw, maxsplit=1, flags=re.MULTILINE)[0].strip()
    fenced = FENCE.match(raw)
    if fenced:
        raw = fenced.group(1).strip()
    call = ToolCall.parse(call_id, name, raw)
    if call.arguments is None:
        spec = next((t for t in tools if t.name == name), None)
        single = _single_string_argument(spec) if spec else None
        if single is not None:
            return ToolCall(call_id, name, {single: raw}, json.dumps({single: raw}))
    return call


def _single_string_argument(spec: ToolSpec) -> str | None:
    properties = spec.parameters.get("properties") or {}
    if len(properties) == 1:
        name, schema = next(iter(properties.items()))
        if schema.get("type") == "string":
            return str(name)
    return None


class TextToolCalling:
    """Wraps a chat model so that tools work through text instead of the provider's tool calls."""

    def __init__(self, model: ChatModel) -> None:
        self.model = model
        self.name = model.name
        self._calls = 0

    def complete(self, messages: list[Message], tools: list[ToolSpec] | None = None) -> Reply:
        if not tools:
            return self.model.complete(as_text(messages))
        converted = as_text(messages)
        guide = describe_tools(tools)
        if converted and converted[0].role == "system":
            converted[0] = Message("system", f"{converted[0].content}\n\n{guide}")
        else:
            converted.insert(0, Message("system", guide))
        reply = self.model.complete(converted)
        self._calls += 1
        call = parse_action(reply.message.content, tools, f"text_{self._calls}")
        if call is None:
            return reply
        return replace(reply, message=Message("assistant", reply.message.content, (call,)))
