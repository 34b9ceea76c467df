"""Running an agent's playbook with ansible-core, once the playbook policy allowed it.

The normalised playbook (the policy's text: what it read, without the keys that
have no effect here, such as ``become``) and an inventory of one host
(localhost, in MicroRemed's group ``k3s_control_plane``, on the local
connection; ``all`` and ``127.0.0.1`` name it too) are written into the
sandbox's working directory; ``ansible-playbook`` runs there
with the sandbox's environment, its configuration pinned (no ansible.cfg from
anywhere, its temporary files inside the working directory), the JSON
callback, and a time limit (300 s by default, as MicroRemed's executor) that
stops the whole process tree. The answer lists every task with its status
(ok, changed, failed, skipped), output and exit code.
"""

from __future__ import annotations

import json
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from remedlab.remediate.command_runner import CommandResult, Sandbox, run_argv
from remedlab.remediate.playbook_policy import CONTROL_PLANE_GROUP, CheckedPlaybook, PlaybookRefused, check_playbook

PLAYBOOK_TIMEOUT = 300.0
PLAYBOOK_FILE = "remediation.yml"
INVENTORY_FILE = "inventory.ini"
TASK_OUTPUT_LIMIT = 16 * 1024


@dataclass
class TaskResult:
    play: str
    name: str
    status: str  # ok | changed | failed | skipped | unreachable
    rc: int | None = None
    stdout: str = ""
    stderr: str = ""
    msg: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "play": self.play,
            "task": self.name,
            "status": self.status,
            "rc": self.rc,
            "stdout": self.stdout,
            "stderr": self.stderr,
            "msg": self.msg,
        }


@dataclass
class PlaybookResult:
    ok: bool
    refused: str | None = None
    tasks: list[TaskResult] = field(default_factory=list)
    exit_code: int | None = None
    timed_out: bool = False
    seconds: float = 0.0
    output: str = ""
    notes: list[str] = field(default_factory=list)
    """What the playbook asked for that has no effect here (``become``, ``environment: KUBECONFIG``)."""
    stopped_in: str | None = None
    """The task under way when the time limit stopped the run."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "refused": self.refused,
            "notes": self.notes,
            "exitCode": self.exit_code,
            "timedOut": self.timed_out,
            "stoppedIn": self.stopped_in,
            "seconds": round(self.seconds, 3),
            "tasks": [t.to_dict() for t in self.tasks],
            "output": self.output,
        }

    def transcript(self) -> str:
        """The result as an agent reads it: one line per task, then how the run ended."""
        if self.refused is not None:
            return f"playbook refused: {self.refused}"
        lines = [f"note: {note}" for note in self.notes]
        for task in self.tasks:
            line = f"[{task.status}] {task.name}"
            if task.rc is not None:
                line += f" (rc={task.rc})"
            lines.append(line)
            for text in (task.stdout, task.stderr, task.msg if task.status == "failed" else ""):
                if text.strip():
                    lines.append("  " + text.strip().replace("\n", "\n  "))
        if self.timed_out:
            during = f" during task {self.stopped_in!r}" if self.stopped_in else ""
            lines.append(f"stopped after {self.seconds:.0f}s{during}: time limit reached")
        elif not self.tasks and self.output:
            lines.append(self.output.strip())
        lines.append("playbook succeeded" if self.ok else f"playbook failed (exit code {self.exit_code})")
        return "\n".join(lines)


def ansible_playbook() -> str:
    """The ansible-playbook installed next to this interpreter, else the one on PATH."""
    beside = Path(sys.executable).with_name("ansible-playbook")
    if beside.exists():
        return str(beside)
    found = shutil.which("ansible-playbook")
    if found is None:
        raise FileNotFoundError("ansible-playbook is not installed: pip install ansible-core (make setup)")
    return found


def ansible_env(workdir: Path) -> dict[str, str]:
    """Settings that keep ansible inside the working directory and make it answer JSON."""
    ansible_dir = workdir / ".ansible"
    return {
        "ANSIBLE_CONFIG": str(workdir / "ansible.cfg"),
        "ANSIBLE_HOME": str(ansible_dir),
        "ANSIBLE_LOCAL_TEMP": str(ansible_dir / "tmp"),
        "ANSIBLE_REMOTE_TEMP": str(ansible_dir / "tmp"),
        "ANSIBLE_STDOUT_CALLBACK": "remedlab_json",
        "ANSIBLE_CALLBACK_PLUGINS": str(Path(__file__).with_name("ansible_callbacks")),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
        "ANSIBLE_HOST_KEY_CHECKING": "0",
        "ANSIBLE_LOCALHOST_WARNING": "0",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0",
        "ANSIBLE_DEPRECATION_WARNINGS": "0",
        "ANSIBLE_COLLECTIONS_PATH": str(ansible_dir / "collections"),
        "ANSIBLE_ROLES_PATH": str(ansible_dir / "roles"),
        "ANSIBLE_FORCE_COLOR": "0",
        # a module's payload is unpacked here, not in /tmp: a module stopped by the time limit leaves it behind
        "TMPDIR": str(workdir),
    }


def inventory_text() -> str:
    """One host, localhost on the local connection, in MicroRemed's group (``all`` holds it too)."""
    return f"[{CONTROL_PLANE_GROUP}]\nlocalhost ansible_connection=local ansible_python_interpreter={sys.executable}\n"


def _cut(text: Any) -> str:
    value = text if isinstance(text, str) else ("" if text is None else json.dumps(text))
    return value if len(value) <= TASK_OUTPUT_LIMIT else value[:TASK_OUTPUT_LIMIT] + "\n[cut]"


@dataclass
class CallbackOutput:
    """What ansible printed with the remedlab_json callback."""

    tasks: list[TaskResult]
    """Every task's result, from the report at the end (none when the run ended before it)."""
    started: str | None
    """The last task that started: the one under way when a run without a report was stopped."""
    other: str
    """The lines that are neither (ansible's own messages)."""


def parse_json_output(stdout: str) -> CallbackOutput:
    """Read the remedlab_json callback's lines out of ansible's standard output."""
    report: dict[str, Any] = {}
    started: str | None = None
    other: list[str] = []
    for line in stdout.splitlines():
        try:
            record = json.loads(line) if line.startswith("{") else None
        except ValueError:
            record = None
        if isinstance(record, dict) and isinstance(record.get("started"), dict):
            started = str(record["started"].get("task") or "")
        elif isinstance(record, dict) and "plays" in record:
            report = record
        else:
            other.append(line)
    tasks: list[TaskResult] = []
    for play in report.get("plays") or []:
        play_name = str((play.get("play") or {}).get("name") or "")
        for task in play.get("tasks") or []:
            name = str((task.get("task") or {}).get("name") or "")
            for host in (task.get("hosts") or {}).values():
                if host.get("skipped"):
                    status = "skipped"
                elif host.get("unreachable"):
                    status = "unreachable"
                elif host.get("failed"):
                    status = "failed"
                elif host.get("changed"):
                    status = "changed"
                else:
                    status = "ok"
                rc = host.get("rc")
                tasks.append(
                    TaskResult(
                        play=play_name,
                        name=name,
                        status=status,
                        rc=rc if isinstance(rc, int) else None,
                        stdout=_cut(host.get("stdout") or ""),
                        stderr=_cut(host.get("stderr") or ""),
                        msg=_cut(host.get("msg") or ""),
                    )
                )
    return CallbackOutput(tasks, started, "\n".join(other))


def run_playbook(text: str, sandbox: Sandbox) -> PlaybookResult:
    """Check ``text`` against the playbook policy, then run its normalised text in ``sandbox`` (its timeout
    bounds the run)."""
    try:
        checked = check_playbook(text)
    except PlaybookRefused as exc:
        return refused_playbook(exc)
    return run_checked_playbook(checked, sandbox)


def refused_playbook(refusal: PlaybookRefused) -> PlaybookResult:
    """The answer to a playbook the policy refused: nothing ran."""
    return PlaybookResult(ok=False, refused=str(refusal))


def run_checked_playbook(checked: CheckedPlaybook, sandbox: Sandbox) -> PlaybookResult:
    """Run a playbook that passed the policy: its normalised text, never the text as sent."""
    workdir = sandbox.cwd
    (workdir / PLAYBOOK_FILE).write_text(checked.text)
    (workdir / INVENTORY_FILE).write_text(inventory_text())
    (workdir / "ansible.cfg").write_text("[defaults]\n")
    argv = [ansible_playbook(), "-i", INVENTORY_FILE, PLAYBOOK_FILE]
    run: CommandResult = run_argv(argv, f"ansible-playbook -i {INVENTORY_FILE} {PLAYBOOK_FILE}", sandbox,
                                  ansible_env(workdir))  # fmt: skip
    printed = parse_json_output(run.stdout)
    tasks = printed.tasks
    output = run.stderr.strip() if tasks else "\n".join(p for p in (printed.other.strip(), run.stderr.strip()) if p)
    return PlaybookResult(
        ok=run.exit_code == 0 and not run.timed_out,
        tasks=tasks,
        exit_code=run.exit_code,
        timed_out=run.timed_out,
        stopped_in=printed.started if run.timed_out and not tasks else None,
        seconds=run.seconds,
        output=output[-TASK_OUTPUT_LIMIT:],
        notes=list(checked.notes),
    )
