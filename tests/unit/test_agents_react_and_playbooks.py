"""Parsing what models hand over: ReAct's one call per code block (never evaluated), answers in each
task's shape, and playbooks from print_playbook."""

from __future__ import annotations

import pytest

from remedlab.agents.llm.chat import ToolCall
from remedlab.agents.methods.playbooks import playbook_text
from remedlab.agents.methods.react import CallError, check_answer, parse_call


def test_parse_call_takes_one_literal_call() -> None:
    assert parse_call('Let me look.\n```\nget_logs("ns", "geo")\n```') == ("get_logs", ["ns", "geo"], {})
    assert parse_call("```python\nget_metrics(namespace='ns', duration=2)\n```") == (
        "get_metrics",
        [],
        {"namespace": "ns", "duration": 2},
    )
    assert parse_call('```\nsubmit({"system_level": "Application", "fault_type": "Code Defect"})\n```')[2] == {}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("no block here", "no fenced code block"),
        ("```\nimport os\n```", "not one call"),
        ("```\nos.system('id')\n```", "not one API call"),
        ("```\nrm_rf('/')\n```", "rm_rf is not an API"),
        ("```\nexec_shell(__import__('os').getcwd())\n```", "must be literals"),
        ("```\nget_logs('a'); get_logs('b')\n```", "not one call"),
    ],
)
def test_parse_call_refuses_anything_else(text: str, message: str) -> None:
    with pytest.raises(CallError, match=message):
        parse_call(text)


def test_answers_take_their_task_shape() -> None:
    assert check_answer("detection", [" yes "], {}) == "Yes"
    assert check_answer("localization", ["geo"], {}) == ["geo"]
    assert check_answer("localization", [], {"faulty_components": ["geo", "rate"]}) == ["geo", "rate"]
    analysis = {"system_level": "Application", "fault_type": "Misconfiguration", "extra": 1}
    assert check_answer("analysis", [analysis], {}) == {"system_level": "Application", "fault_type": "Misconfiguration"}
    assert check_answer("mitigation", [], {}) is None
    bad: list[tuple[str, list[object]]] = [("detection", ["maybe"]), ("localization", [[]]), ("analysis", ["x"])]
    for task, args in bad:
        with pytest.raises(CallError):
            check_answer(task, args, {})


def test_playbook_text_from_tool_calls() -> None:
    play = "- hosts: localhost\n  tasks:\n    - command: kubectl get pods\n"
    assert playbook_text(ToolCall.parse("1", "print_playbook", f'{{"code": {play!r}}}'.replace("'", '"')))[0]
    fenced = ToolCall("2", "print_playbook", {"code": f"```yaml\n{play}```"}, "")
    assert playbook_text(fenced)[0] == play.rstrip("\n")
    for call, why in [
        (ToolCall("3", "print_playbook", None, "{oops"), "not a JSON object"),
        (ToolCall("4", "print_playbook", {"code": ""}, ""), "without a playbook"),
        (ToolCall("5", "print_playbook", {"code": "- hosts: [x\n"}, ""), "not valid YAML at line"),
        (ToolCall("6", "print_playbook", {"code": "hosts: localhost"}, ""), "list of plays"),
    ]:
        text, problem = playbook_text(call)
        assert text is None and why in problem
