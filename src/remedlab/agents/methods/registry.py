"""The remediation methods by name, with what each needs and does (`remedlab agents`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from remedlab.agents.episode import TASKS, AgentContext, AgentResult


class Method(Protocol):
    name: str
    needs_model: bool

    def run(self, ctx: AgentContext) -> AgentResult: ...


@dataclass(frozen=True)
class MethodInfo:
    name: str
    needs_model: bool
    summary: str
    build: Callable[[], Method]
    tasks: tuple[str, ...] = ("mitigation",)
    """The tasks it takes on: every method mitigates; some also answer detection, localization and
    analysis questions."""


def _baseline() -> Method:
    from remedlab.agents.methods.baseline.runbook import Baseline

    return Baseline()


def _solo_gen() -> Method:
    from remedlab.agents.methods.solo_gen import SoloGen

    return SoloGen()


def _think_remed() -> Method:
    from remedlab.agents.methods.think_remed import ThinkRemed

    return ThinkRemed()


def _react() -> Method:
    from remedlab.agents.methods.react import ReAct

    return ReAct()


def _mcp() -> Method:
    from remedlab.agents.methods.mcp_agent import McpAgent

    return McpAgent()


METHODS: dict[str, MethodInfo] = {
    info.name: info
    for info in (
        MethodInfo(
            "baseline",
            False,
            "rule-based SRE runbook; no model, no hints: reads pods, events, rollouts, resources and "
            "service metrics, then rolls back or replaces what is sick (or answers what it found)",
            _baseline,
            TASKS,
        ),
        MethodInfo(
            "SoloGen",
            True,
            "MicroRemed's one-shot method: one model call writes a playbook (print_playbook), run once",
            _solo_gen,
        ),
        MethodInfo(
            "ThinkRemed",
            True,
            "MicroRemed's coordinator: probes (probe_system, capped by --max-steps), a playbook, a check "
            "of the agent-visible signals, and a reflection retry (--max-attempts)",
            _think_remed,
        ),
        MethodInfo(
            "ReAct",
            True,
            "AIOpsLab's agent interface: get_logs, get_metrics/read_metrics, get_traces/read_traces, "
            "exec_shell, submit; one call per turn, for detection, localization, analysis or mitigation",
            _react,
            TASKS,
        ),
        MethodInfo(
            "mcp",
            False,
            "any MCP-speaking agent: --agent-command runs it per episode with the episode's MCP server "
            "(kubectl, logs, metrics, traces, topology, events, playbooks, submit) and the incident",
            _mcp,
            TASKS,
        ),
    )
}


class UnknownMethod(KeyError):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.message = f"unknown method {name!r}: choose one of {', '.join(METHODS)}"

    def __str__(self) -> str:
        return self.message


def method_info(name: str) -> MethodInfo:
    for known, info in METHODS.items():
        if known.lower() == name.lower():
            return info
    raise UnknownMethod(name)
