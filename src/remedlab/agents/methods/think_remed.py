"""ThinkRemed (MicroRemed): a coordinator that probes the system (``probe_system``, through the
server's read-only allowlist, at most ``--max-steps`` probes), hands over a playbook
(``print_playbook``), has it executed, checks the result with agent-visible signals, and reflects
once on a failure (at most ``--max-attempts`` playbooks)."""

from __future__ import annotations

import time

from remedlab.agents.episode import (
    BAD_OUTPUT,
    DONE,
    REFUSED,
    STEP_LIMIT,
    UNVERIFIED,
    AgentContext,
    AgentResult,
)
from remedlab.agents.llm.chat import Message, ToolCall, ToolSpec
from remedlab.agents.methods import prompts
from remedlab.agents.methods.incident_prompt import incident_values, system_prompt
from remedlab.agents.methods.playbooks import PRINT_PLAYBOOK, playbook_text, run_playbook, summary
from remedlab.agents.verification import check_fixed

NAME = "ThinkRemed"
MAX_OUTPUT = 8000
MAX_NUDGES = 2

PROBE_SYSTEM = ToolSpec(
    name="probe_system",
    description=(
        "Run read-only diagnostic commands on the control host and get their output: kubectl get, "
        "describe, logs, top, events, rollout history/status, exec of read-only programs; curl GET to "
        "the cluster. Separate commands with `;`. Each command has 10 s."
    ),
    parameters={
        "type": "object",
        "properties": {"cmds": {"type": "string", "description": "The commands, `;`-separated."}},
        "required": ["cmds"],
    },
)


def clip(text: str, limit: int = MAX_OUTPUT) -> str:
    return text if len(text) <= limit else text[:limit] + f"\n… [{len(text) - limit} more characters]"


class ThinkRemed:
    name = NAME
    needs_model = True

    def run(self, ctx: AgentContext) -> AgentResult:
        values = incident_values(ctx.incident)
        messages = [
            Message("system", system_prompt(ctx.incident)),
            Message("user", prompts.render("think_remed_task.md", max_steps=ctx.max_steps, **values)),
        ]
        tools = [PROBE_SYSTEM, PRINT_PLAYBOOK]
        probes = nudges = over_limit = unusable = 0
        turns_left = ctx.max_steps + 3 * ctx.max_attempts + MAX_NUDGES + 2
        while turns_left > 0:
            turns_left -= 1
            reply = ctx.model().complete(messages, tools)
            ctx.steps += 1
            messages.append(reply.message)
            if not reply.tool_calls:
                nudges += 1
                if nudges > MAX_NUDGES:
                    return ctx.finish(NAME, BAD_OUTPUT, f"the model answered {nudges} times without a tool call")
                messages.append(Message("user", prompts.render("think_remed_no_tool.md")))
                continue
            for call in reply.tool_calls:
                if call.name == PROBE_SYSTEM.name:
                    if probes >= ctx.max_steps:
                        over_limit += 1
                        if over_limit > 1:
                            return ctx.finish(NAME, STEP_LIMIT, f"the model kept probing after {probes} probes")
                        note = prompts.render("think_remed_steps_spent.md", max_steps=ctx.max_steps)
                        messages.append(_tool_answer(call, note))
                        continue
                    probes += 1
                    messages.append(_tool_answer(call, self._probe(ctx, call)))
                elif call.name == PRINT_PLAYBOOK.name:
                    text, problem = playbook_text(call)
                    if text is None:
                        unusable += 1
                        if unusable >= ctx.max_attempts:
                            return ctx.finish(NAME, BAD_OUTPUT, problem)
                        messages.append(_tool_answer(call, f"Unusable playbook: {problem}. Hand over a fixed one."))
                        continue
                    answer = run_playbook(ctx, text, why=f"attempt {ctx.attempts + 1}")
                    acted_at = time.time()
                    if answer.get("refused"):
                        if ctx.attempts >= ctx.max_attempts:
                            return ctx.finish(NAME, REFUSED, str(answer["refused"]))
                        fixed, report = False, "the playbook did not run"
                    else:
                        fixed, report = check_fixed(ctx.api, ctx.incident.namespace, ctx.incident.service, acted_at)
                    ctx.log.add("verification", attempt=ctx.attempts, fixed=fixed, report=report)
                    if fixed:
                        return ctx.finish(NAME, DONE, f"attempt {ctx.attempts} verified: {report}")
                    if ctx.attempts >= ctx.max_attempts:
                        return ctx.finish(NAME, UNVERIFIED, f"after {ctx.attempts} attempts: {report}")
                    reflection = prompts.render(
                        "think_remed_reflect.md",
                        attempt=ctx.attempts,
                        result=clip(summary(answer)),
                        verification=report,
                        probes_left=max(ctx.max_steps - probes, 0),
                    )
                    messages.append(_tool_answer(call, reflection))
                else:
                    messages.append(
                        _tool_answer(call, f"Unknown tool {call.name!r}: use probe_system or print_playbook.")
                    )
        return ctx.finish(NAME, STEP_LIMIT, f"no remedy after {ctx.steps} model turns")

    def _probe(self, ctx: AgentContext, call: ToolCall) -> str:
        commands = (call.arguments or {}).get("cmds")
        if not isinstance(commands, str) or not commands.strip():
            return "probe_system needs `cmds`: the commands to run, `;`-separated."
        answer = ctx.api.probe(commands)
        ctx.log.add("probe", commands=commands, answer=answer)
        return clip(str(answer.get("output") or "(no output)"))


def _tool_answer(call: ToolCall, text: str) -> Message:
    return Message("tool", text, tool_call_id=call.id)
