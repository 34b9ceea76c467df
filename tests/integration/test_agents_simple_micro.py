"""Every agent method end to end against a real simple-micro with real faults, talking to the server
over HTTP with the agent token; LLM methods talk to a scripted OpenAI-compatible server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from remedlab.agents.episode import (
    BAD_OUTPUT,
    BUDGET,
    DONE,
    MODEL_ERROR,
    REFUSED,
    STEP_LIMIT,
    SUBMITTED,
    AgentResult,
    Incident,
)
from remedlab.agents.llm.openai_compatible import OpenAICompatible
from remedlab.agents.llm.session import Budget
from remedlab.agents.llm.text_tools import TextToolCalling
from remedlab.agents.run import CONVERSATION_FILE, RESULT_FILE, run_agent
from remedlab.bench.plan import MICROREMED_FAULTS
from tests.integration.agent_episodes import FaultLab, episode_story, fault_lab
from tests.scripted_llm import Reply, scripted_llm

pytestmark = pytest.mark.integration

NS = "simple-micro"
REPLACE_TIME_SERVICE = f"""- name: replace the faulty time-service pod
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: delete the pod; its deployment starts a fresh one
      command: kubectl delete pod -l app=time-service -n {NS} --wait=false
    - name: wait until time-service is available again
      command: kubectl rollout status deployment/time-service -n {NS} --timeout=90s
"""
LOOK_ONLY = f"""- hosts: localhost
  gather_facts: false
  tasks:
    - command: kubectl get pods -n {NS}
"""


@pytest.fixture(scope="module")
def lab() -> Iterator[FaultLab]:
    with fault_lab(NS, "hello-service", 5000) as lab:
        yield lab


def playbook_call(text: str) -> dict[str, Any]:
    return {"tool_calls": [{"name": "print_playbook", "arguments": {"code": text}}]}


def llm_run(lab: FaultLab, method: str, replies: list[Reply], out: Path, **options: Any) -> tuple[AgentResult, Any]:
    text_mode = options.pop("text_mode", False)
    incident = options.pop("incident", Incident(NS, service="time-service", fault_category="cpu-stress"))
    with scripted_llm(replies) as (script, url):
        model: Any = OpenAICompatible("qwen-plus", base_url=url, api_key="k", max_retries=0)
        if text_mode:
            model = TextToolCalling(model)
        result = run_agent(method, incident, lab.api, model=model, out_dir=out, **options)
    return result, script


def saved(out: Path) -> dict[str, Any]:
    """The conversation log and result the run saved."""
    conversation = json.loads((out / CONVERSATION_FILE).read_text())
    result = json.loads((out / RESULT_FILE).read_text())
    assert conversation["entries"][-1]["kind"] == "end"
    return {"conversation": conversation, "result": result}


# ---------------------------------------------------------------- the baseline runbook


@pytest.mark.parametrize("fault", MICROREMED_FAULTS)
def test_baseline_remediates(lab: FaultLab, fault: str, tmp_path: Path) -> None:
    # the runbook sees what users see: disk-io on the data time-service serves from, not on MicroRemed's
    # /var/log/mysql, which only MicroRemed's own dd check writes
    overrides = ("volumePath=/data",) if fault == "disk-io" else ()
    with lab.fault(fault, "time-service", *overrides) as chaos:
        result = run_agent("baseline", Incident(NS), lab.api, out_dir=tmp_path)
        assert result.ended == DONE, episode_story(result, tmp_path)
        assert not lab.fault_shows(chaos), f"{fault} still shows after: {result.actions}"
        lab.assert_serving()
    assert result.attempts == 1 and result.actions[0]["ok"], episode_story(result, tmp_path)
    assert (tmp_path / "playbook-1.yml").exists() and saved(tmp_path)["result"]["ended"] == DONE
    assert result.model_calls == 0 and result.usage.total == 0


# ---------------------------------------------------------------- LLM methods, competent answers


def test_solo_gen_episode(lab: FaultLab, tmp_path: Path) -> None:
    with lab.fault("cpu-stress", "time-service") as chaos:
        lab.wait_fault_shows(chaos)
        result, script = llm_run(lab, "SoloGen", [playbook_call(REPLACE_TIME_SERVICE)], tmp_path)
        assert result.ended == DONE, result
        assert not lab.fault_shows(chaos)
        lab.assert_serving()
    system = script.requests[0]["messages"][0]["content"]
    assert "Root-cause service: time-service" in system and "Fault category: cpu-stress" in system
    assert "localhost ansible_connection=local" in system
    assert script.requests[0]["tools"][0]["function"]["name"] == "print_playbook"
    assert result.model_calls == 1 and result.usage.input_tokens > 0 and result.usage.output_tokens > 0
    assert result.cost is not None and result.cost > 0  # qwen-plus is in the price table
    assert (tmp_path / "playbook-1.yml").read_text() == REPLACE_TIME_SERVICE
    kinds = [e["kind"] for e in saved(tmp_path)["conversation"]["entries"]]
    assert kinds == ["incident", "request", "response", "playbook", "end"]


def test_think_remed_probes_reflects_and_verifies(lab: FaultLab, tmp_path: Path) -> None:
    replies: list[Reply] = [
        {
            "tool_calls": [
                {"name": "probe_system", "arguments": {"cmds": f"kubectl get pods -n {NS}; kubectl get events -n {NS}"}}
            ]
        },
        playbook_call(LOOK_ONLY),  # a first attempt that changes nothing
        playbook_call(REPLACE_TIME_SERVICE),
    ]
    incident = Incident(NS, service="time-service", fault_category="network-delay")
    with lab.fault("network-delay", "time-service") as chaos:
        lab.wait_fault_shows(chaos)
        result, script = llm_run(lab, "ThinkRemed", replies, tmp_path, incident=incident)
        assert result.ended == DONE, result
        assert not lab.fault_shows(chaos)
        lab.assert_serving()
    assert result.attempts == 2 and result.steps == 3
    probe_output = script.requests[1]["messages"][-1]["content"]
    assert "time-service" in probe_output and "hello-service" in probe_output
    reflection = script.requests[2]["messages"][-1]["content"]
    assert "Attempt 1 did not remediate" in reflection and "time-service" in reflection
    verifications = [e for e in saved(tmp_path)["conversation"]["entries"] if e["kind"] == "verification"]
    assert [v["fixed"] for v in verifications] == [False, True]


def _path_in_last_observation(request: dict[str, Any]) -> str:
    text = str(request["messages"][-1]["content"])
    return text.split("Observation:\n", 1)[1].strip().splitlines()[0]


def test_react_mitigation_through_the_aci(lab: FaultLab, tmp_path: Path) -> None:
    def block(call: str) -> dict[str, Any]:
        return {"content": f"Thought: next step.\n```\n{call}\n```"}

    replies: list[Reply] = [
        block(f'exec_shell("kubectl get pods -n {NS}")'),
        block(f'get_logs("{NS}", "hello-service")'),
        block(f'get_metrics("{NS}", 1)'),
        lambda request: block(f'read_metrics("{_path_in_last_observation(request)}/services.csv")'),
        block(f'get_traces("{NS}", 1)'),
        lambda request: block(f'read_traces("{_path_in_last_observation(request)}")'),
        block(f'exec_shell("kubectl delete pod -l app=time-service -n {NS}")'),
        block("submit()"),
    ]
    incident = Incident(NS, task="mitigation")
    with lab.fault("pod-fail", "time-service") as chaos:
        lab.wait_fault_shows(chaos)
        result, script = llm_run(lab, "ReAct", replies, tmp_path, incident=incident)
        assert result.ended == SUBMITTED, result
        lab.wait_healthy(30)
        assert not lab.fault_shows(chaos)
    observations = [r["messages"][-1]["content"] for r in script.requests[1:]]
    assert "time-service" in observations[0]  # kubectl get pods
    assert "---" in observations[1]  # hello-service's log
    assert "requestRate" in observations[3] and "time-service" in observations[3]
    assert "traceId" in observations[5]
    assert result.attempts == 1  # the delete ran as a one-task playbook
    assert "task" in script.requests[0]["messages"][0]["content"].lower()
    assert list((tmp_path / "aci").iterdir())


# ---------------------------------------------------------------- bad model output ends cleanly


def test_no_tool_call_malformed_yaml_and_refused_playbooks_end_cleanly(lab: FaultLab, tmp_path: Path) -> None:
    result, _ = llm_run(lab, "SoloGen", [{"content": "Restart everything."}], tmp_path / "a")
    assert result.ended == BAD_OUTPUT and "did not call print_playbook" in result.reason
    result, _ = llm_run(lab, "SoloGen", [playbook_call("- hosts: [localhost\n  tasks: {")], tmp_path / "b")
    assert result.ended == BAD_OUTPUT and "not valid YAML" in result.reason and result.attempts == 0
    piped = "- hosts: localhost\n  tasks:\n    - shell: kubectl get pods -n simple-micro | grep time\n"
    result, _ = llm_run(lab, "SoloGen", [playbook_call(piped)], tmp_path / "c")
    assert result.ended == REFUSED and result.attempts == 1 and result.reason
    assert saved(tmp_path / "c")["result"]["ended"] == REFUSED


def test_endless_probing_hits_the_step_cap(lab: FaultLab, tmp_path: Path) -> None:
    probe: Reply = {"tool_calls": [{"name": "probe_system", "arguments": {"cmds": f"kubectl get pods -n {NS}"}}]}
    result, script = llm_run(lab, "ThinkRemed", [probe] * 10, tmp_path, max_steps=2)
    assert result.ended == STEP_LIMIT and result.attempts == 0
    assert len(script.requests) == 4  # two probes, one told to stop probing, one more probe: the end
    assert "used all 2 probes" in script.requests[3]["messages"][-1]["content"]


def test_react_format_errors_then_an_answer_and_then_garbage(lab: FaultLab, tmp_path: Path) -> None:
    incident = Incident(NS, task="detection")
    replies: list[Reply] = [{"content": "There is an anomaly."}, {"content": '```\nsubmit("Yes")\n```'}]
    result, script = llm_run(lab, "ReAct", replies, tmp_path / "a", incident=incident)
    assert result.ended == SUBMITTED and result.answer == "Yes"
    assert "no fenced code block" in script.requests[1]["messages"][-1]["content"]
    garbage: list[Reply] = [{"content": "```\nimport os\n```"}, {"content": "```\nrm(1)\n```"}, {"content": "hi"}]
    result, _ = llm_run(lab, "ReAct", garbage, tmp_path / "b", incident=incident)
    assert result.ended == BAD_OUTPUT and "3 unusable answers" in result.reason


def test_model_failures_and_budgets_end_cleanly(lab: FaultLab, tmp_path: Path) -> None:
    result, _ = llm_run(lab, "SoloGen", [{"status": 500}], tmp_path / "a")
    assert result.ended == MODEL_ERROR and "HTTP 500" in result.reason
    probe: Reply = {
        "tool_calls": [{"name": "probe_system", "arguments": {"cmds": f"kubectl get pods -n {NS}"}}],
        "usage": {"prompt_tokens": 400, "completion_tokens": 20},
    }
    result, script = llm_run(lab, "ThinkRemed", [probe] * 5, tmp_path / "b", budget=Budget(max_tokens=1000))
    assert result.ended == BUDGET and len(script.requests) == 3 and result.usage.total == 1260
    assert saved(tmp_path / "b")["result"]["usage"]["total_tokens"] == 1260


def test_text_format_tool_calls_for_models_without_them(lab: FaultLab, tmp_path: Path) -> None:
    answer = f"Thought: look first.\nAction: print_playbook\nAction Input:\n```yaml\n{LOOK_ONLY}```"
    result, script = llm_run(lab, "SoloGen", [{"content": answer}], tmp_path, text_mode=True)
    assert result.ended == DONE and result.attempts == 1 and result.actions[0]["ok"]
    assert "tools" not in script.requests[0]
    assert (tmp_path / "playbook-1.yml").read_text().strip() == LOOK_ONLY.strip()


def test_cli_runs_a_method_and_lists_them(lab: FaultLab, tmp_path: Path) -> None:
    listing = lab.server.cli("agents")
    for name in ("baseline", "SoloGen", "ThinkRemed", "ReAct", "dashscope", "anthropic", "vllm"):
        assert name in listing
    with scripted_llm([playbook_call(LOOK_ONLY)]) as (_, url):
        out = lab.server.cli(
            "agents",
            "run",
            "SoloGen",
            "-n",
            NS,
            "--service",
            "time-service",
            "--fault",
            "cpu-stress",
            "--model",
            "qwen-plus",
            "--base-url",
            url,
            "--out",
            str(tmp_path),
        )
    assert "done" in out and "playbook-1.yml" in out
    assert json.loads((tmp_path / RESULT_FILE).read_text())["ended"] == DONE
