"""Playbooks as agents hand them over: taken from a tool call, checked to be YAML plays, saved beside
the conversation, and run once through the server (which applies its policy)."""

from __future__ import annotations

import re
from typing import Any

import yaml

from remedlab.agents.episode import AgentContext
from remedlab.agents.llm.chat import ToolCall, ToolSpec

FENCE = re.compile(r"^\s*```[\w-]*\s*\n(.*?)\n?\s*```\s*$", re.DOTALL)
PLAYBOOK_KEYS = ("code", "playbook")

PRINT_PLAYBOOK = ToolSpec(
    name="print_playbook",
    description=(
        "Hand over the Ansible playbook that remediates the fault. It runs once, on localhost with "
        "kubectl available, as `ansible-playbook -i inventory.ini remediation.yml`."
    ),
    parameters={
        "type": "object",
        "properties": {"code": {"type": "string", "description": "The whole playbook, as YAML text."}},
        "required": ["code"],
    },
)


def playbook_text(call: ToolCall) -> tuple[str | None, str]:
    """The playbook in a print_playbook call, or None and why it is unusable."""
    if call.arguments is None:
        return None, f"the arguments of {call.name} are not a JSON object: {call.raw[:200]!r}"
    text = next((call.arguments[k] for k in PLAYBOOK_KEYS if isinstance(call.arguments.get(k), str)), None)
    if not text or not text.strip():
        return None, f"{call.name} was called without a playbook (`code`)"
    fenced = FENCE.match(text)
    if fenced:
        text = fenced.group(1)
    problem = yaml_problem(text)
    return (None, problem) if problem else (text, "")


def yaml_problem(text: str) -> str | None:
    """Why the text is not a list of plays, or None."""
    try:
        plays = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" at line {where.line + 1}" if where is not None else ""
        return f"the playbook is not valid YAML{at}: {getattr(exc, 'problem', None) or exc}"
    if not isinstance(plays, list) or not plays or not all(isinstance(p, dict) for p in plays):
        return "the playbook must be a YAML list of plays (each with hosts and tasks)"
    return None


def run_playbook(ctx: AgentContext, text: str, why: str = "", timeout: float | None = None) -> dict[str, Any]:
    """Run one playbook attempt through the server (within `timeout` seconds, the server's default without)
    and record it; returns the server's answer."""
    ctx.attempts += 1
    name = f"playbook-{ctx.attempts}.yml"
    ctx.save_text(name, text)
    answer = ctx.api.playbook(text) if timeout is None else ctx.api.playbook(text, timeout=timeout)
    ctx.actions.append(
        {
            "kind": "playbook",
            "file": name,
            "why": why,
            "ok": bool(answer.get("ok")),
            "refused": answer.get("refused"),
            "exitCode": answer.get("exitCode"),
            "seconds": answer.get("seconds"),
        }
    )
    ctx.log.add("playbook", file=name, playbook=text, answer=answer)
    return answer


def summary(answer: dict[str, Any], limit: int = 6000) -> str:
    """What the agent reads back after a playbook ran."""
    if answer.get("refused"):
        return f"REFUSED by the server's policy: {answer['refused']}"
    head = "the playbook succeeded" if answer.get("ok") else f"the playbook FAILED (exit code {answer.get('exitCode')})"
    output = str(answer.get("output") or "")
    if len(output) > limit:
        output = output[:limit] + f"\n… [{len(output) - limit} more characters]"
    return f"{head}\n{output}".strip()
