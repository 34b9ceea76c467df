"""SoloGen (MicroRemed): one model call with the remediation system prompt and a `print_playbook`
tool; the playbook is executed once through the server; no verification."""

from __future__ import annotations

from remedlab.agents.episode import BAD_OUTPUT, DONE, REFUSED, UNVERIFIED, AgentContext, AgentResult
from remedlab.agents.llm.chat import Message
from remedlab.agents.methods import prompts
from remedlab.agents.methods.incident_prompt import incident_values, system_prompt
from remedlab.agents.methods.playbooks import PRINT_PLAYBOOK, playbook_text, run_playbook

NAME = "SoloGen"


class SoloGen:
    name = NAME
    needs_model = True

    def run(self, ctx: AgentContext) -> AgentResult:
        messages = [
            Message("system", system_prompt(ctx.incident)),
            Message("user", prompts.render("solo_gen_task.md", **incident_values(ctx.incident))),
        ]
        reply = ctx.model().complete(messages, [PRINT_PLAYBOOK])
        ctx.steps += 1
        call = next((c for c in reply.tool_calls if c.name == PRINT_PLAYBOOK.name), None)
        if call is None:
            named = ", ".join(c.name for c in reply.tool_calls)
            why = f"it called {named} instead" if named else "it answered in text only"
            return ctx.finish(NAME, BAD_OUTPUT, f"the model did not call print_playbook: {why}")
        text, problem = playbook_text(call)
        if text is None:
            return ctx.finish(NAME, BAD_OUTPUT, problem)
        answer = run_playbook(ctx, text, why="the model's playbook")
        if answer.get("refused"):
            return ctx.finish(NAME, REFUSED, str(answer["refused"]))
        if not answer.get("ok"):
            return ctx.finish(NAME, UNVERIFIED, f"the playbook failed (exit code {answer.get('exitCode')})")
        return ctx.finish(NAME, DONE, "the playbook ran once (SoloGen does not verify)")
