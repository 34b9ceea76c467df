"""Grading the answers of AIOpsLab-style tasks as AIOpsLab's evaluators do: detection ("Yes"/"No",
no-fault controls included), localization (the faulty component: exact for a list of one, or a plain
name, which AIOpsLab takes as one; 100/len credit when it is in the list) and analysis (system level
and fault type, both exact, case aside)."""

from __future__ import annotations

from typing import Any

NO_FAULT = "none"
ANSWER_TASKS = ("detection", "localization", "analysis")


def grade_answer(task: str, answer: Any, fault: str, target: str, truth: dict[str, str]) -> dict[str, Any]:
    if task == "detection":
        expected = "No" if fault == NO_FAULT else "Yes"
        passed = isinstance(answer, str) and answer.strip().lower() == expected.lower()
        return {"passed": passed, "score": 100.0 if passed else 0.0, "expected": expected, "answer": answer}
    if task == "localization":
        names = [str(a) for a in answer] if isinstance(answer, list) else [answer] if isinstance(answer, str) else []
        found = target in names
        return {
            "passed": names == [target],
            "score": 100.0 / len(names) if found else 0.0,
            "rank": names.index(target) + 1 if found else None,  # Acc@k counts rank <= k
            "expected": [target],
            "answer": answer,
        }
    if task == "analysis":
        got = answer if isinstance(answer, dict) else {}
        keys = ("system_level", "fault_type")
        passed = all(str(got.get(k, "")).strip().lower() == truth.get(k, "").lower() for k in keys)
        return {"passed": passed, "score": 100.0 if passed else 0.0, "expected": truth, "answer": answer}
    raise ValueError(f"no answer to grade for task {task!r}")
