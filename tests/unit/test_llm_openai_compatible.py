"""The OpenAI-compatible provider against a scripted server: tool calls, real usage, retries, failures."""

from __future__ import annotations

from typing import Any

import pytest

from remedlab.agents.llm.chat import ChatError, Message, ToolSpec
from remedlab.agents.llm.openai_compatible import OpenAICompatible
from remedlab.agents.llm.presets import UnknownProvider, get_preset, load_presets
from tests.scripted_llm import scripted_llm

PRINT_PLAYBOOK = ToolSpec(
    "print_playbook",
    "Print the Ansible playbook that remediates the fault.",
    {"type": "object", "properties": {"code": {"type": "string"}}, "required": ["code"]},
)


def test_tool_calls_usage_and_the_request_sent() -> None:
    replies: list[dict[str, Any]] = [
        {
            "tool_calls": [{"name": "print_playbook", "arguments": {"code": "- hosts: localhost"}}],
            "usage": {"prompt_tokens": 812, "completion_tokens": 64, "cached_tokens": 512},
        },
        {"content": "done"},
    ]
    with scripted_llm(replies) as (script, url):
        model = OpenAICompatible("qwen-plus", base_url=url, api_key="k")
        messages = [Message("system", "You are an SRE."), Message("user", "hello-service is slow")]
        first = model.complete(messages, [PRINT_PLAYBOOK])
        second = model.complete([*messages, first.message, Message("tool", "ok", tool_call_id=first.tool_calls[0].id)])
    (call,) = first.tool_calls
    assert (call.name, call.arguments) == ("print_playbook", {"code": "- hosts: localhost"})
    assert (first.usage.input_tokens, first.usage.output_tokens, first.usage.cached_tokens) == (812, 64, 512)
    assert first.finish_reason == "tool_calls" and first.model == "scripted-model" and first.seconds > 0
    assert second.message.content == "done" and not second.tool_calls
    sent = script.requests[0]
    assert sent["model"] == "qwen-plus" and sent["tools"][0]["function"]["name"] == "print_playbook"
    assert [m["role"] for m in script.requests[1]["messages"]] == ["system", "user", "assistant", "tool"]
    assert script.requests[1]["messages"][2]["tool_calls"][0]["function"]["name"] == "print_playbook"


def test_malformed_arguments_are_kept_not_fatal() -> None:
    with scripted_llm([{"tool_calls": [{"name": "print_playbook", "arguments": "{not json"}]}]) as (_, url):
        reply = OpenAICompatible("m", base_url=url).complete([Message("user", "x")], [PRINT_PLAYBOOK])
    (call,) = reply.tool_calls
    assert call.arguments is None and call.raw == "{not json"


def test_rate_limits_are_retried_then_failures_are_one_line() -> None:
    with scripted_llm([{"status": 429}, {"content": "after a retry"}]) as (script, url):
        reply = OpenAICompatible("m", base_url=url, max_retries=2).complete([Message("user", "x")])
    assert reply.message.content == "after a retry" and reply.attempts == 2 and len(script.requests) == 2
    bad = [{"status": 400, "message": "bad tool schema\nmore"}]
    with scripted_llm(bad) as (_, url), pytest.raises(ChatError, match=r"^m: HTTP 400: ") as info:
        OpenAICompatible("m", base_url=url, max_retries=0).complete([Message("user", "x")])
    assert "\n" not in str(info.value)


def test_provider_presets_name_their_endpoint_and_key() -> None:
    presets = load_presets()
    assert {"openai", "dashscope", "deepseek", "vllm", "ollama", "llamacpp"} <= set(presets)
    dashscope = get_preset("dashscope")
    assert dashscope.base_url.startswith("https://dashscope") and dashscope.key_env == "DASHSCOPE_API_KEY"
    assert dashscope.api_key({"DASHSCOPE_API_KEY": "a"}) == "a"
    assert dashscope.api_key({"DASHSCOPE_API_KEY": "a", "REMEDLAB_LLM_API_KEY": "b"}) == "b"
    assert get_preset("ollama").base_url.startswith("http://127.0.0.1")
    with pytest.raises(UnknownProvider, match="choose one of"):
        get_preset("nope")
