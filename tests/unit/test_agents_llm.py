"""Agents' model plumbing: the Anthropic provider, the ReAct text format for models without tool
calls, the price table, budgets and the conversation log, and building a model from options."""

from __future__ import annotations

from pathlib import Path

import pytest

from remedlab.agents.conversation import Conversation
from remedlab.agents.llm.anthropic_native import AnthropicNative, to_anthropic
from remedlab.agents.llm.chat import ChatError, Message, ToolCall, ToolSpec, Usage
from remedlab.agents.llm.models import ModelOptions, ModelOptionsError, build_model
from remedlab.agents.llm.openai_compatible import OpenAICompatible
from remedlab.agents.llm.presets import UnknownProvider
from remedlab.agents.llm.pricing import PriceTable, PriceTableError
from remedlab.agents.llm.session import Budget, BudgetExceeded, ModelSession
from remedlab.agents.llm.text_tools import TextToolCalling, as_text, parse_action
from tests.scripted_llm import Reply, scripted_llm

PLAYBOOK = ToolSpec(
    "print_playbook",
    "Hand over the playbook.",
    {"type": "object", "properties": {"code": {"type": "string"}}, "required": ["code"]},
)
PROBE = ToolSpec(
    "probe_system",
    "Run read-only commands.",
    {"type": "object", "properties": {"cmds": {"type": "string"}, "why": {"type": "string"}}, "required": ["cmds"]},
)


# ---------------------------------------------------------------- Anthropic


def test_anthropic_tool_use_usage_and_request_shape() -> None:
    replies: list[Reply] = [
        {
            "content": "Let me look.",
            "tool_calls": [{"name": "probe_system", "arguments": {"cmds": "kubectl get pods"}}],
            "usage": {"prompt_tokens": 900, "completion_tokens": 40, "cached_tokens": 600},
        },
        {"content": "All good."},
    ]
    with scripted_llm(replies) as (script, url):
        model = AnthropicNative("claude-haiku-4-5", base_url=url.removesuffix("/v1"), api_key="k", max_retries=0)
        messages = [Message("system", "You are an SRE."), Message("user", "hello-service is slow")]
        first = model.complete(messages, [PROBE])
        follow = [*messages, first.message, Message("tool", "NAME READY", tool_call_id=first.tool_calls[0].id)]
        second = model.complete(follow, [PROBE])
    (call,) = first.tool_calls
    assert (call.name, call.arguments) == ("probe_system", {"cmds": "kubectl get pods"})
    assert first.message.content == "Let me look." and first.finish_reason == "tool_use"
    # Anthropic reports cache reads apart: input counts them, cached says how many
    assert (first.usage.input_tokens, first.usage.output_tokens, first.usage.cached_tokens) == (900, 40, 600)
    assert second.message.content == "All good." and not second.tool_calls
    sent = script.requests[1]
    assert sent["system"] == "You are an SRE." and sent["tools"][0]["input_schema"]["required"] == ["cmds"]
    roles = [turn["role"] for turn in sent["messages"]]
    assert roles == ["user", "assistant", "user"]
    assert sent["messages"][2]["content"][0] == {
        "type": "tool_result",
        "tool_use_id": call.id,
        "content": "NAME READY",
    }


def test_anthropic_retries_overload_then_fails_in_one_line() -> None:
    with scripted_llm([{"status": 529}, {"content": "ok"}]) as (_, url):
        reply = AnthropicNative("claude-x", base_url=url.removesuffix("/v1"), max_retries=2).complete(
            [Message("user", "hi")]
        )
    assert reply.message.content == "ok" and reply.attempts == 2
    with scripted_llm([{"status": 429}, {"status": 429}]) as (_, url), pytest.raises(ChatError) as caught:
        AnthropicNative("claude-x", base_url=url.removesuffix("/v1"), max_retries=1).complete([Message("user", "hi")])
    assert "HTTP 429" in str(caught.value) and "\n" not in str(caught.value)


def test_consecutive_tool_results_share_one_user_turn() -> None:
    calls = (ToolCall("a", "probe_system", {"cmds": "x"}, "{}"), ToolCall("b", "probe_system", {"cmds": "y"}, "{}"))
    system, turns = to_anthropic(
        [
            Message("system", "S"),
            Message("user", "go"),
            Message("assistant", "", calls),
            Message("tool", "out a", tool_call_id="a"),
            Message("tool", "out b", tool_call_id="b"),
        ]
    )
    assert system == "S" and [t["role"] for t in turns] == ["user", "assistant", "user"]
    assert [b["tool_use_id"] for b in turns[2]["content"]] == ["a", "b"]


# ---------------------------------------------------------------- ReAct text format


def test_parse_action_json_plain_yaml_fenced_and_none() -> None:
    call = parse_action('Thought: look\nAction: probe_system\nAction Input: {"cmds": "kubectl get pods"}', [PROBE], "1")
    assert call is not None and call.arguments == {"cmds": "kubectl get pods"}
    playbook = "- hosts: localhost\n  tasks:\n    - command: kubectl get pods\n"
    call = parse_action(f"Action: print_playbook\nAction Input:\n```yaml\n{playbook}```\n", [PLAYBOOK], "2")
    assert call is not None and call.arguments == {"code": playbook.strip()}
    call = parse_action('Action: probe_system\nAction Input: {"cmds": "a"}\nObservation: made up', [PROBE], "3")
    assert call is not None and call.arguments == {"cmds": "a"}
    assert parse_action("I think the pod is fine.", [PROBE], "4") is None
    broken = parse_action("Action: probe_system\nAction Input: {not json", [PROBE], "5")
    assert broken is not None and broken.arguments is None  # two arguments: no plain-text fallback


def test_history_is_written_back_as_text() -> None:
    call = ToolCall("c1", "probe_system", {"cmds": "x"}, '{"cmds": "x"}')
    text = as_text([Message("assistant", "Thought: look", (call,)), Message("tool", "pods…", tool_call_id="c1")])
    assert text[0].content.endswith('Action: probe_system\nAction Input: {"cmds": "x"}')
    assert text[1].role == "user" and text[1].content == "Observation: pods…"


def test_text_tool_calling_through_a_real_endpoint() -> None:
    answer = 'Thought: check pods\nAction: probe_system\nAction Input: {"cmds": "kubectl get pods -n sm"}'
    with scripted_llm([{"content": answer}]) as (script, url):
        model = TextToolCalling(OpenAICompatible("llama", base_url=url, max_retries=0))
        reply = model.complete([Message("system", "You are an SRE."), Message("user", "go")], [PROBE, PLAYBOOK])
    (call,) = reply.tool_calls
    assert call.name == "probe_system" and call.arguments == {"cmds": "kubectl get pods -n sm"}
    sent = script.requests[0]
    assert "tools" not in sent  # the endpoint never sees native tools
    assert "probe_system" in sent["messages"][0]["content"] and "Action Input:" in sent["messages"][0]["content"]


# ---------------------------------------------------------------- prices, budgets, log


def test_price_table_matches_the_longest_prefix_and_knows_what_it_does_not_know(tmp_path: Path) -> None:
    table = PriceTable.load()
    mini = table.price_of("gpt-4o-mini-2024-07-18")
    assert mini is not None and mini.input == 0.15
    assert table.price_of("openai/gpt-4o") is not None and table.price_of("gpt-4o") != mini
    assert table.cost("my-local-model", Usage(1000, 100)) is None
    cost = table.cost("gpt-4o-mini", Usage(1_000_000, 1_000_000, 500_000))
    assert cost == pytest.approx(0.5 * 0.15 + 0.5 * 0.075 + 0.60)
    bad = tmp_path / "prices.yaml"
    bad.write_text("prices:\n  m: {input: cheap}\n")
    with pytest.raises(PriceTableError, match=r"prices\.m needs numeric"):
        PriceTable.load(bad)
    with pytest.raises(PriceTableError, match="cannot read"):
        PriceTable.load(tmp_path / "missing.yaml")


def test_token_budget_stops_the_next_call_and_the_log_has_everything() -> None:
    replies: list[Reply] = [{"content": "a", "usage": {"prompt_tokens": 300, "completion_tokens": 30}}] * 3
    with scripted_llm(replies) as (script, url):
        log = Conversation()
        session = ModelSession(OpenAICompatible("gpt-4o-mini", base_url=url), log, Budget(max_tokens=500))
        session.complete([Message("user", "one")])
        assert session.usage == Usage(300, 30, 0) and session.calls == 1
        session.complete([Message("user", "two")])
        with pytest.raises(BudgetExceeded, match="token budget spent: 660 of 500"):
            session.complete([Message("user", "three")])
    assert len(script.requests) == 2  # the third call was never sent
    kinds = [e["kind"] for e in log.entries]
    assert kinds == ["request", "response", "request", "response"]
    assert log.entries[1]["usage"]["input_tokens"] == 300 and session.cost is not None


def test_dollar_budget_needs_a_price() -> None:
    with scripted_llm([]) as (_, url), pytest.raises(ChatError, match="needs a price"):
        ModelSession(OpenAICompatible("mystery", base_url=url), Conversation(), Budget(max_dollars=1.0))


def test_build_model_from_options() -> None:
    assert isinstance(build_model(ModelOptions("qwen-plus", provider="dashscope")), OpenAICompatible)
    assert isinstance(build_model(ModelOptions("claude-haiku-4-5", provider="anthropic")), AnthropicNative)
    assert isinstance(build_model(ModelOptions("llama", provider="llamacpp")), TextToolCalling)
    assert isinstance(build_model(ModelOptions("m", base_url="http://127.0.0.1:9/v1", tools="text")), TextToolCalling)
    for options, message in [
        (ModelOptions(""), "needs a model"),
        (ModelOptions("m"), "--provider NAME"),
        (ModelOptions("m", base_url="http://127.0.0.1:9", api="grpc"), "unknown --api"),
        (ModelOptions("m", base_url="http://127.0.0.1:9", tools="xml"), "unknown --tools"),
    ]:
        with pytest.raises(ModelOptionsError, match=message):
            build_model(options)
    with pytest.raises(UnknownProvider):
        build_model(ModelOptions("m", provider="nowhere"))
