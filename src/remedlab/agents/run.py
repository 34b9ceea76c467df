"""Run one method on one incident: build its model session, run it, turn every failure into a clean
end with its reason, and save the conversation log and the result beside any playbooks."""

from __future__ import annotations

from pathlib import Path

from remedlab.agents.conversation import Conversation
from remedlab.agents.episode import (
    BUDGET,
    MODEL_ERROR,
    SERVER_ERROR,
    AgentContext,
    AgentResult,
    Incident,
)
from remedlab.agents.llm.chat import ChatError, ChatModel
from remedlab.agents.llm.pricing import PriceTable
from remedlab.agents.llm.session import Budget, BudgetExceeded, ModelSession
from remedlab.agents.methods.registry import method_info
from remedlab.agents.server_api import AgentApi, AgentApiError

CONVERSATION_FILE = "conversation.json"
RESULT_FILE = "agent-result.json"


def run_agent(
    method: str,
    incident: Incident,
    api: AgentApi,
    *,
    model: ChatModel | None = None,
    budget: Budget | None = None,
    prices: PriceTable | None = None,
    out_dir: Path | None = None,
    max_steps: int = 20,
    max_attempts: int = 2,
    agent_command: tuple[str, ...] = (),
    agent_timeout: float = 600.0,
) -> AgentResult:
    info = method_info(method)
    log = Conversation()
    log.add("incident", **incident.__dict__, method=info.name)
    session = None
    if info.needs_model:
        if model is None:
            raise ValueError(f"{info.name} needs a model: give --model and --provider or --base-url")
        session = ModelSession(model, log, budget, prices)
    ctx = AgentContext(
        api,
        incident,
        session=session,
        log=log,
        out_dir=out_dir,
        max_steps=max_steps,
        max_attempts=max_attempts,
        agent_command=agent_command,
        agent_timeout=agent_timeout,
    )
    try:
        result = info.build().run(ctx)
    except BudgetExceeded as exc:
        result = ctx.finish(info.name, BUDGET, str(exc))
    except ChatError as exc:
        result = ctx.finish(info.name, MODEL_ERROR, str(exc))
    except AgentApiError as exc:
        result = ctx.finish(info.name, SERVER_ERROR, str(exc))
    if out_dir is not None:
        log.save(out_dir / CONVERSATION_FILE)
        ctx.save_json(RESULT_FILE, result.to_dict())
    return result
