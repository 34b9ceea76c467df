"""Build the chat model a user asked for on the command line: provider preset or base URL, API,
key, and whether tools are called natively or through the ReAct text format."""

from __future__ import annotations

import os
from dataclasses import dataclass

from remedlab.agents.llm.chat import ChatModel
from remedlab.agents.llm.presets import API_KEY_ENV, APIS, TOOL_MODES, get_preset
from remedlab.agents.llm.text_tools import TextToolCalling


class ModelOptionsError(ValueError):
    """The model options do not fit together; the message says what to change."""


@dataclass(frozen=True)
class ModelOptions:
    model: str
    provider: str | None = None
    base_url: str | None = None
    api: str | None = None
    tools: str | None = None
    api_key: str | None = None
    temperature: float | None = None
    max_retries: int = 3
    timeout: float = 120.0


def build_model(options: ModelOptions) -> ChatModel:
    if not options.model:
        raise ModelOptionsError("this method needs a model: give --model NAME (and --provider or --base-url)")
    preset = get_preset(options.provider) if options.provider else None
    api = options.api or (preset.api if preset else "openai")
    tools = options.tools or (preset.tools if preset else "native")
    if api not in APIS:
        raise ModelOptionsError(f"unknown --api {api!r}: choose {' or '.join(APIS)}")
    if tools not in TOOL_MODES:
        raise ModelOptionsError(f"unknown --tools {tools!r}: choose {' or '.join(TOOL_MODES)}")
    base_url = options.base_url or (preset.base_url if preset else None)
    if base_url is None:
        raise ModelOptionsError("say where the model is: --provider NAME (see `remedlab agents`) or --base-url URL")
    key = options.api_key or (preset.api_key() if preset else os.environ.get(API_KEY_ENV))
    # the providers' SDKs take seconds to import: only a command that builds a model pays for them
    if api == "anthropic":
        from remedlab.agents.llm.anthropic_native import AnthropicNative as provider
    else:
        from remedlab.agents.llm.openai_compatible import OpenAICompatible as provider  # type: ignore[assignment]
    model: ChatModel = provider(
        options.model,
        base_url=base_url,
        api_key=key,
        timeout=options.timeout,
        max_retries=options.max_retries,
        temperature=options.temperature,
    )
    return TextToolCalling(model) if tools == "text" else model
