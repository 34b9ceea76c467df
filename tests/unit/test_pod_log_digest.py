"""The digest of a server's logs that a failed integration test's report holds."""

from __future__ import annotations

import os
import time
from pathlib import Path

from tests.integration.pod_logs import MAX_LINES, digest


def _pod(home: Path, uid: str, name: str, container: str, lines: list[str]) -> Path:
    pod = home / "pods" / uid
    (pod / "etc").mkdir(parents=True)
    (pod / "etc" / "hosts").write_text(f"127.0.0.1\tlocalhost\n127.169.0.6\t{name}\n")
    log = pod / "logs" / container / "current.log"
    log.parent.mkdir(parents=True)
    log.write_text("".join(line + "\n" for line in lines))
    return log


def _stamp(at: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(at)) + ".000000000Z"


def test_it_names_each_container_by_its_pod_and_keeps_what_went_wrong_since_the_test_began(tmp_path: Path) -> None:
    now = time.time()
    before, during = _stamp(now - 600), _stamp(now + 1)
    _pod(tmp_path, "u1", "supernode-1-abc", "supernode", [
        f"{before} stderr \x1b[91mERROR \x1b[0m: an old failure",
        f"{during} stderr \x1b[91mERROR \x1b[0m: Failed to receive message 42",
        "Traceback (most recent call last):",
        f"{during} stderr \x1b[92mINFO \x1b[0m: [RUN 7, ROUND 2]",
    ])  # fmt: skip
    _pod(tmp_path, "u2", "clientapp-1-def", "clientapp", [f"{during} stderr INFO: Start `flwr-clientapp` process"])
    old = _pod(tmp_path, "u3", "gone-1", "old", [f"{before} stderr ERROR: long ago"])
    os.utime(old, (now - 600, now - 600))
    text = digest(tmp_path, now)
    assert "clientapp-1-def/clientapp: 1 lines, 0 noteworthy" in text
    assert "supernode-1-abc/supernode: 3 lines, 2 noteworthy" in text
    assert "ERROR : Failed to receive message 42" in text and "Traceback" in text and "[RUN 7, ROUND 2]" in text
    assert "an old failure" not in text and "gone-1" not in text and "\x1b" not in text


def test_it_is_bounded_and_empty_when_nothing_was_logged(tmp_path: Path) -> None:
    now = time.time()
    assert digest(tmp_path, now) == ""
    for i in range(200):
        _pod(tmp_path, f"u{i}", f"pod-{i}", "c", [f"{_stamp(now + 1)} stdout error {i}"] * 10)
    lines = digest(tmp_path, now).splitlines()
    assert len(lines) <= MAX_LINES + 1 and lines[-1].endswith("more containers")


def test_a_structured_line_is_noteworthy_by_its_level_and_a_count_of_none_is_not(tmp_path: Path) -> None:
    now = time.time()
    during = _stamp(now + 1)
    _pod(tmp_path, "u1", "loadgenerator-abc", "main", [
        f'{during} stdout {{"level": "info", "msg": "53 requests, 0 failures in the last 30s", "failures": 0}}',
        f'{during} stdout {{"level": "warning", "msg": "browseProduct: GET /product/X answered 500"}}',
        f"{during} stdout 40 requests, no errors",
        f"{during} stdout connection refused",
    ])  # fmt: skip
    assert "loadgenerator-abc/main: 4 lines, 2 noteworthy" in digest(tmp_path, now)
