"""ReAct with AIOpsLab's agent-computer interface: each turn the model answers with one fenced code
block holding one API call (get_logs, get_metrics, read_metrics, get_traces, read_traces,
exec_shell, submit); the call is parsed (literal arguments only, never evaluated), run, and its
output is the next observation, until ``submit`` or the step limit."""

from __future__ import annotations

import ast
import re
from typing import Any

import yaml

from remedlab.agents.episode import BAD_OUTPUT, STEP_LIMIT, SUBMITTED, TASKS, AgentContext, AgentResult
from remedlab.agents.llm.chat import Message
from remedlab.agents.methods import prompts
from remedlab.agents.methods.react_aci import Aci, AciError
from remedlab.agents.server_api import AgentApiError

NAME = "ReAct"
CODE_BLOCK = re.compile(r"```[^\n`]*\n(.*?)```", re.DOTALL)
APIS = ("get_logs", "get_metrics", "read_metrics", "get_traces", "read_traces", "exec_shell", "submit")
MAX_FORMAT_ERRORS = 3
MAX_OBSERVATION = 8000


class CallError(ValueError):
    """The model's answer does not hold one usable API call; the message says why."""


def parse_call(text: str) -> tuple[str, list[Any], dict[str, Any]]:
    """The single API call in the answer's code block: its name and literal arguments."""
    blocks = CODE_BLOCK.findall(text or "")
    if not blocks:
        raise CallError("there is no fenced code block")
    code = blocks[0].strip()
    if code.startswith(("python\n", "py\n")):
        code = code.split("\n", 1)[1]
    try:
        tree = ast.parse(code, mode="eval")
    except SyntaxError:
        raise CallError(f"the code block is not one call: {code[:120]!r}") from None
    call = tree.body
    if not isinstance(call, ast.Call) or not isinstance(call.func, ast.Name):
        raise CallError(f"the code block is not one API call: {code[:120]!r}")
    name = call.func.id
    if name not in APIS:
        raise CallError(f"{name} is not an API: use one of {', '.join(APIS)}")
    try:
        args = [ast.literal_eval(a) for a in call.args]
        kwargs = {k.arg: ast.literal_eval(k.value) for k in call.keywords if k.arg is not None}
    except ValueError:
        raise CallError(f"the arguments of {name} must be literals (strings, numbers, lists, dicts)") from None
    return name, args, kwargs


def task_text(task: str) -> dict[str, str]:
    raw = yaml.safe_load(prompts.read("react_tasks.yaml"))
    entry = raw[task]
    return {
        "task_description": str(entry["description"]).strip(),
        "submit_signature": str(entry["submit_signature"]),
        "submit_description": str(entry["submit_description"]).strip(),
        "shell_note": str(entry["shell_note"]).strip(),
    }


def check_answer(task: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
    """The submitted answer in its task's shape, or CallError saying what shape was expected."""
    value = args[0] if args else next(iter(kwargs.values()), None)
    if task == "mitigation":
        return None
    if task == "detection":
        if isinstance(value, str) and value.strip().lower() in ("yes", "no"):
            return value.strip().capitalize()
        raise CallError('detection answers submit("Yes") or submit("No")')
    if task == "localization":
        if isinstance(value, str):
            value = [value]
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            return value
        raise CallError('localization answers submit(["service", ...])')
    if (
        isinstance(value, dict)
        and isinstance(value.get("system_level"), str)
        and isinstance(value.get("fault_type"), str)
    ):
        return {"system_level": value["system_level"], "fault_type": value["fault_type"]}
    raise CallError('analysis answers submit({"system_level": "...", "fault_type": "..."})')


class ReAct:
    name = NAME
    needs_model = True

    def run(self, ctx: AgentContext) -> AgentResult:
        task = ctx.incident.task
        if task not in TASKS:
            return ctx.finish(NAME, BAD_OUTPUT, f"unknown task {task!r}: choose one of {', '.join(TASKS)}")
        namespace = ctx.incident.namespace
        system = prompts.render("react_system.md", namespace=namespace, max_steps=ctx.max_steps, **task_text(task))
        messages = [Message("system", system), Message("user", f"Begin. The namespace is `{namespace}`.")]
        aci = Aci(ctx)
        format_errors = 0
        while ctx.steps < ctx.max_steps:
            reply = ctx.model().complete(messages)
            ctx.steps += 1
            messages.append(Message("assistant", reply.message.content))
            try:
                name, args, kwargs = parse_call(reply.message.content)
                if name == "submit":
                    answer = check_answer(task, args, kwargs)
                    ctx.log.add("submit", answer=answer)
                    return ctx.finish(NAME, SUBMITTED, f"submitted after {ctx.steps} steps", answer=answer)
            except CallError as exc:
                format_errors += 1
                if format_errors >= MAX_FORMAT_ERRORS:
                    return ctx.finish(NAME, BAD_OUTPUT, f"{format_errors} unusable answers; the last: {exc}")
                messages.append(
                    Message("user", prompts.render("react_format_error.md", problem=exc, namespace=namespace))
                )
                continue
            observation = self._call(aci, name, args, kwargs)
            ctx.log.add("aci", call=name, args=args, kwargs=kwargs, observation=observation)
            messages.append(Message("user", f"Observation:\n{_clip(observation)}"))
        return ctx.finish(NAME, STEP_LIMIT, f"no submit within {ctx.max_steps} steps")

    def _call(self, aci: Aci, name: str, args: list[Any], kwargs: dict[str, Any]) -> str:
        try:
            return str(getattr(aci, name)(*args, **kwargs))
        except TypeError as exc:
            return f"error: bad arguments for {name}: {exc}"
        except AciError as exc:
            return f"error: {exc}"
        except AgentApiError as exc:
            return f"error: the server answered: {exc}"


def _clip(text: str) -> str:
    return (
        text if len(text) <= MAX_OBSERVATION else text[:MAX_OBSERVATION] + f"\n… [{len(text) - MAX_OBSERVATION} more]"
    )
