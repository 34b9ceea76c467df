"""The audit log: whole JSON lines, owner-only, long fields cut, safe under concurrent writers."""

from __future__ import annotations

import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from remedlab.remediate.audit_log import MAX_FIELD, AuditLog


def test_actions_are_appended_as_whole_lines(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit" / "actions.jsonl")
    log.record("probe", "agent", "kubectl get pods -n simple-micro", {"exitCode": 0, "seconds": 0.08})
    log.record("playbook", "agent", "- hosts: localhost", {"refused": "play 1: rm is not allowed"})
    assert stat.S_IMODE(log.path.stat().st_mode) == 0o600
    lines = list(log.lines())
    assert [(line["kind"], line["scope"]) for line in lines] == [("probe", "agent"), ("playbook", "agent")]
    assert lines[1]["outcome"]["refused"].startswith("play 1") and lines[0]["time"].endswith("Z")

    long = log.record("probe", "agent", "x" * (MAX_FIELD + 50), {"stdout": "y" * (MAX_FIELD * 2)})
    assert long["request"].endswith("[50 more characters]") and len(long["outcome"]["stdout"]) < MAX_FIELD + 40

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: log.record("probe", "agent", f"kubectl get pods {i}", {"i": i}), range(200)))
    assert len(list(log.lines())) == 203
    assert sum(1 for _ in log.path.open()) == 203
