"""What an agent is given for one episode (the incident, the server, a model session, a place to save
its work) and what it gives back (how it ended and why, its actions, steps, tokens and cost)."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from remedlab.agents.conversation import Conversation
from remedlab.agents.llm.chat import Usage
from remedlab.agents.llm.session import ModelSession
from remedlab.agents.server_api import AgentApi

TASKS = ("detection", "localization", "analysis", "mitigation")

# How an episode ended, from the agent's side (the benchmark's oracle judges the system separately).
DONE = "done"  # the method finished its procedure (and, where it verifies, saw the system healthy)
SUBMITTED = "submitted"  # a ReAct agent submitted an answer
UNVERIFIED = "unverified"  # actions ran but the method's own verification still saw a problem
NO_ACTION = "no-action"  # the method found nothing to do
BAD_OUTPUT = "bad-output"  # the model's answer could not be used (no tool call, malformed YAML or call)
REFUSED = "refused"  # the server refused the agent's playbook or command
STEP_LIMIT = "step-limit"  # the method ran out of steps
BUDGET = "budget"  # the token or dollar budget is spent
MODEL_ERROR = "model-error"  # the model endpoint failed for good
SERVER_ERROR = "server-error"  # the remedlab server failed or could not be reached


@dataclass(frozen=True)
class Incident:
    """What the agent is told. MicroRemed's methods get the root-cause service and the fault category;
    the baseline runbook uses neither; AIOpsLab tasks get the namespace only."""

    namespace: str
    app: str | None = None
    service: str | None = None
    fault_category: str | None = None
    task: str = "mitigation"


@dataclass
class AgentResult:
    method: str
    ended: str
    reason: str
    attempts: int = 0
    steps: int = 0
    actions: list[dict[str, Any]] = field(default_factory=list)
    answer: Any = None
    usage: Usage = field(default_factory=Usage)
    cost: float | None = None
    model_calls: int = 0
    model_seconds: float = 0.0
    seconds: float = 0.0
    model: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["usage"] = {**asdict(self.usage), "total_tokens": self.usage.total}
        return out


class AgentContext:
    """Everything a method may use. ``session`` is None for methods that need no model."""

    def __init__(
        self,
        api: AgentApi,
        incident: Incident,
        *,
        session: ModelSession | None = None,
        log: Conversation | None = None,
        out_dir: Path | None = None,
        max_steps: int = 20,
        max_attempts: int = 2,
        agent_command: tuple[str, ...] = (),
        agent_timeout: float = 600.0,
    ) -> None:
        self.api = api
        self.agent_command = agent_command
        """The program of an outside agent (the mcp method), with its arguments."""
        self.agent_timeout = agent_timeout
        self.incident = incident
        self.log = log or (session.log if session else Conversation())
        self.session = session
        self.out_dir = out_dir
        self.max_steps = max_steps
        self.max_attempts = max_attempts
        self.started = time.monotonic()
        self.steps = 0
        self.attempts = 0
        self.actions: list[dict[str, Any]] = []

    def model(self) -> ModelSession:
        if self.session is None:
            raise RuntimeError("this method needs a model session")
        return self.session

    def save_text(self, name: str, text: str) -> Path | None:
        if self.out_dir is None:
            return None
        self.out_dir.mkdir(parents=True, exist_ok=True)
        path = self.out_dir / name
        path.write_text(text, encoding="utf-8")
        return path

    def save_json(self, name: str, value: Any) -> Path | None:
        return self.save_text(name, json.dumps(value, indent=1, default=str) + "\n")

    def finish(self, method: str, ended: str, reason: str, answer: Any = None) -> AgentResult:
        """The episode's result from what the method did so far; the reason is recorded in the log."""
        self.log.add("end", ended=ended, reason=reason)
        result = AgentResult(
            method=method,
            ended=ended,
            reason=reason,
            attempts=self.attempts,
            steps=self.steps,
            actions=list(self.actions),
            answer=answer,
        )
        result.seconds = round(time.monotonic() - self.started, 3)
        if self.session is not None:
            result.usage = self.session.usage
            result.cost = self.session.cost
            result.model_calls = self.session.calls
            result.model_seconds = round(self.session.seconds, 3)
            result.model = self.session.model.name
        return result
