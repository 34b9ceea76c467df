"""`remedlab agents`: the remediation methods and model providers; `remedlab agents run` runs one
method on a live namespace, through the server's API with the agent token."""

from __future__ import annotations

import shlex
from pathlib import Path

import typer
from rich.table import Table

from remedlab.agents.episode import TASKS, AgentResult, Incident
from remedlab.agents.llm.chat import ChatError
from remedlab.agents.llm.models import ModelOptions, ModelOptionsError, build_model
from remedlab.agents.llm.presets import UnknownProvider, load_presets
from remedlab.agents.llm.pricing import PriceTable, PriceTableError
from remedlab.agents.llm.session import Budget
from remedlab.agents.methods.registry import METHODS, UnknownMethod, method_info
from remedlab.agents.run import run_agent
from remedlab.agents.server_api import AgentApi
from remedlab.cli.output import console, fail

agents_app = typer.Typer(help="Remediation methods and model providers.", invoke_without_command=True)


@agents_app.callback()
def agents(ctx: typer.Context) -> None:
    """List the remediation methods and the model provider presets."""
    if ctx.invoked_subcommand is not None:
        return
    methods = Table(title="methods", title_justify="left")
    methods.add_column("METHOD")
    methods.add_column("MODEL")
    methods.add_column("WHAT IT DOES")
    for info in METHODS.values():
        methods.add_row(info.name, "needed" if info.needs_model else "none", info.summary)
    console.print(methods)
    providers = Table(title="providers (--provider)", title_justify="left")
    for column in ("PROVIDER", "API", "TOOLS", "BASE URL", "KEY"):
        providers.add_column(column, overflow="fold")
    for preset in load_presets().values():
        providers.add_row(
            preset.name, preset.api, preset.tools, preset.base_url, f"REMEDLAB_LLM_API_KEY or {preset.key_env}"
        )
    console.print(providers)


@agents_app.command("run")
def run(
    method: str = typer.Argument(..., help="baseline, SoloGen, ThinkRemed, ReAct or mcp."),
    namespace: str = typer.Option(..., "-n", "--namespace", help="The namespace of the failing app."),
    service: str | None = typer.Option(None, "--service", help="The root-cause service (MicroRemed's methods)."),
    fault: str | None = typer.Option(None, "--fault", help="The fault category (MicroRemed's methods)."),
    task: str = typer.Option(
        "mitigation", "--task", help="The task: " + ", ".join(TASKS) + " (ReAct and baseline answer all four)."
    ),
    model: str | None = typer.Option(None, "--model", help="The model's name."),
    provider: str | None = typer.Option(None, "--provider", help="A provider preset (see `remedlab agents`)."),
    base_url: str | None = typer.Option(None, "--base-url", help="The model endpoint's base URL."),
    api: str | None = typer.Option(None, "--api", help="openai or anthropic (default: the preset's, else openai)."),
    tools: str | None = typer.Option(None, "--tools", help="native or text (ReAct text format for tool calls)."),
    max_steps: int = typer.Option(20, "--max-steps", min=1, help="Cap on probes (ThinkRemed) or turns (ReAct)."),
    max_attempts: int = typer.Option(2, "--max-attempts", min=1, help="ThinkRemed's playbook attempts."),
    max_tokens: int | None = typer.Option(None, "--max-tokens", min=1, help="Stop once this many tokens are used."),
    max_dollars: float | None = typer.Option(None, "--max-dollars", min=0, help="Stop once this much is spent."),
    prices: Path | None = typer.Option(None, "--prices", help="A price table (YAML) instead of the built-in one."),
    server_url: str | None = typer.Option(None, "--server-url", help="The remedlab server (default $REMEDLAB_SERVER)."),
    out: Path | None = typer.Option(None, "--out", help="Save the conversation, playbooks and result here."),
    agent_command: str | None = typer.Option(
        None, "--agent-command", help="The mcp method's agent: a program and its arguments, run per episode."
    ),
    agent_timeout: float = typer.Option(600.0, "--agent-timeout", min=1, help="Seconds the mcp agent may take."),
) -> None:
    """Run one remediation method against a live namespace and print how it ended."""
    try:
        info = method_info(method)
    except UnknownMethod as exc:
        raise fail(str(exc)) from None
    if task not in TASKS:
        raise fail(f"unknown --task {task!r}: choose one of {', '.join(TASKS)}")
    if task not in info.tasks:
        able = ", ".join(m.name for m in METHODS.values() if task in m.tasks)
        raise fail(f"{info.name} does not answer {task} questions: use {able}")
    require_agent_command(info.name, agent_command)
    chat = None
    try:
        table = PriceTable.load(prices)
        if info.needs_model:
            chat = build_model(
                ModelOptions(model=model or "", provider=provider, base_url=base_url, api=api, tools=tools)
            )
    except (ModelOptionsError, UnknownProvider, PriceTableError) as exc:
        raise fail(str(exc)) from None
    incident = Incident(namespace=namespace, service=service, fault_category=fault, task=task)
    with AgentApi.from_env(server_url) as client:
        console.print(f"running {info.name} on namespace {namespace} (server {client.url}) …")
        try:
            result = run_agent(
                info.name,
                incident,
                client,
                model=chat,
                budget=Budget(max_tokens, max_dollars),
                prices=table,
                out_dir=out,
                max_steps=max_steps,
                max_attempts=max_attempts,
                agent_command=agent_command_words(agent_command),
                agent_timeout=agent_timeout,
            )
        except ChatError as exc:
            raise fail(str(exc)) from None
    print_result(result, out)


def agent_command_words(command: str | None) -> tuple[str, ...]:
    """An --agent-command as its words (shell quoting, no shell)."""
    if not command:
        return ()
    try:
        return tuple(shlex.split(command))
    except ValueError as exc:
        raise fail(f"--agent-command cannot be read ({exc}): quote it as a shell would") from None


def require_agent_command(method: str, command: str | None) -> None:
    """The mcp method runs an outside agent: refuse it without one, before anything runs."""
    if method == "mcp" and not command:
        raise fail("--method mcp runs an outside agent: give --agent-command 'PROGRAM ARGS'")


def print_result(result: AgentResult, out: Path | None) -> None:
    table = Table(show_header=False, box=None)
    table.add_row("method", result.method + (f" ({result.model})" if result.model else ""))
    table.add_row("ended", f"{result.ended}: {result.reason}")
    if result.answer is not None:
        table.add_row("answer", str(result.answer))
    table.add_row("playbooks", str(result.attempts))
    table.add_row("steps", str(result.steps))
    table.add_row("time", f"{result.seconds:.1f}s (model {result.model_seconds:.1f}s)")
    if result.model_calls:
        usage = result.usage
        cost = "unknown price" if result.cost is None else f"${result.cost:.4f}"
        table.add_row(
            "tokens",
            f"{usage.input_tokens} in ({usage.cached_tokens} cached), {usage.output_tokens} out; {cost}",
        )
    for action in result.actions:
        state = "refused" if action.get("refused") else ("ok" if action.get("ok") else "failed")
        table.add_row("action", f"{action.get('file')}: {state} — {action.get('why')}")
    if out is not None:
        table.add_row("saved", str(out))
    console.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(agents_app, name="agents")
