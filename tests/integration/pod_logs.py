"""What a test's servers and their pods logged while it ran, for the report of a failed test.

A server's state directory, and with it every pod's log, is removed when its test module ends, so a
rare failure in a full run could not be read afterwards. The report of a failed test therefore gets,
for each of its servers, the noteworthy lines (errors, warnings, failures) each container and the
server wrote since the test began, and each container's last lines: what it was doing at the end. A
server still running is read when the test is reported; one that an exception stops (a server of the
test's own ``with``) is read as it is cleaned up.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path

NOTEWORTHY = re.compile(
    r"(?<!\b0 )(?<!\bno )(error|warn|traceback|exception|fatal|fail|panic|timed out|timeout|refused)", re.I
)
"""Words of a plain line that say something went wrong, unless counted as none ("0 failures", "no errors")."""
LEVEL = re.compile(r'"level":\s*"(\w+)"')
"""A structured line's level, which says alone whether it is noteworthy."""
NOTEWORTHY_LEVELS = frozenset({"warn", "warning", "error", "critical", "fatal"})
ANSI = re.compile(r"\x1b\[[0-9;]*m")
STAMP = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d")
"""A container's log stamps its lines in UTC (``2026-12-05T15:10:12``), the server's in local time."""
NOTEWORTHY_PER_CONTAINER = 6
TAIL_PER_CONTAINER = 2
"""Last lines shown of a container that logged something noteworthy; one of any other."""
MAX_LINES = 150
WIDTH = 300
READ_BYTES = 256 * 1024


def _recent_lines(path: Path, since: str) -> list[str]:
    """The lines of ``path`` (its last ``READ_BYTES``) stamped ``since`` or later, ANSI colours removed.
    A line with no time stamp of its own (a traceback's) goes with the line before it."""
    with path.open("rb") as fh:
        fh.seek(max(0, path.stat().st_size - READ_BYTES))
        text = fh.read().decode("utf-8", "replace")
    lines: list[str] = []
    keep = False
    for raw in text.splitlines():
        line = ANSI.sub("", raw).rstrip()
        if (stamp := STAMP.search(line[:40])) is not None:
            keep = stamp.group(0).replace(" ", "T") >= since
        if keep and line:
            lines.append(line if len(line) <= WIDTH else line[: WIDTH - 1] + "…")
    return lines


def _pod_name(pod_dir: Path) -> str:
    """The pod's name: the host name its hosts file ends with (its directory is named by its uid)."""
    try:
        last = (pod_dir / "etc" / "hosts").read_text(encoding="utf-8").strip().splitlines()[-1].split()
    except (OSError, IndexError):
        return pod_dir.name
    return last[-1] if len(last) >= 2 else pod_dir.name


def _noteworthy(line: str) -> bool:
    level = LEVEL.search(line)
    if level is not None:
        return level.group(1).lower() in NOTEWORTHY_LEVELS
    return NOTEWORTHY.search(line) is not None


def _chosen(lines: list[str]) -> tuple[list[str], int]:
    noteworthy = [line for line in lines if _noteworthy(line)]
    chosen = noteworthy[-NOTEWORTHY_PER_CONTAINER:]
    tail = TAIL_PER_CONTAINER if noteworthy else 1
    chosen += [line for line in lines[-tail:] if line not in chosen]
    return chosen, len(noteworthy)


def digest(home: Path, since: float) -> str:
    """The server's and its containers' lines since ``since`` (epoch seconds) worth reading, at most
    ``MAX_LINES``; empty when nothing was logged."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(since))
    server_stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(since))
    blocks: list[list[str]] = []
    logs = [p for p in (home / "pods").glob("*/logs/*/current.log") if p.stat().st_mtime >= since]
    for name, path in sorted((f"{_pod_name(p.parents[2])}/{p.parent.name}", p) for p in logs):
        lines = _recent_lines(path, stamp)
        if lines:
            chosen, noteworthy = _chosen(lines)
            blocks.append([f"{name}: {len(lines)} lines, {noteworthy} noteworthy", *(f"  {line}" for line in chosen)])
    server_log = home / "server.log"
    if server_log.exists():
        said = [line for line in _recent_lines(server_log, server_stamp) if _noteworthy(line)]
        if said:
            last = said[-NOTEWORTHY_PER_CONTAINER * 2 :]
            blocks.insert(0, [f"server.log: {len(said)} noteworthy", *(f"  {line}" for line in last)])
    out: list[str] = []
    for shown, block in enumerate(blocks):
        if len(out) + len(block) > MAX_LINES:
            out.append(f"… {len(blocks) - shown} more containers")
            break
        out += block
    return "\n".join(out)


@dataclass
class Watch:
    """The servers of the running test: those alive (their state directories) and the digests of those
    cleaned up while an exception went by."""

    test_started: float = 0.0
    live: set[Path] = field(default_factory=set)
    left: list[tuple[Path, str]] = field(default_factory=list)

    def begin_test(self) -> None:
        self.test_started = time.time()
        self.left.clear()

    def started(self, home: Path) -> None:
        self.live.add(home)

    def stopping(self, home: Path, failing: bool) -> None:
        if home in self.live and failing and (text := digest(home, self.test_started)):
            self.left.append((home, text))
        self.live.discard(home)

    def sections(self, since: float) -> list[tuple[str, str]]:
        found = [(home, digest(home, since)) for home in sorted(self.live)] + self.left
        return [(f"logs of the server in {home} since the test began", text) for home, text in found if text]


WATCH = Watch()
