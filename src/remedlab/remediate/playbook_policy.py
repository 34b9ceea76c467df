"""Checking an agent's Ansible playbook before it runs.

A playbook passes when every play runs on localhost with the local connection
and every task uses an allowed module with allowed arguments:

- ``command`` / ``shell``: the command must pass the remediation command
  policy (kubectl, or curl to cluster services; no shell syntax), no ``chdir``,
  ``creates``, ``removes``, ``executable`` or ``stdin``;
- ``debug``, ``pause`` (at most 300 s, no prompt), ``set_fact``, ``assert``, ``fail``;
- ``wait_for``: a loopback host and port, or a plain delay (no paths);
- ``uri``: http URLs of cluster services only, no files.

Anything that would reach past that is refused: privilege escalation,
delegation to other hosts, roles and included files, ``vars_files``, and
Jinja beyond plain variable references with a few harmless filters (a
``lookup('pipe', ...)`` runs commands, ``lookup('file', ...)`` reads host files).
Each refusal names the play and task, and says why in one line.
"""

from __future__ import annotations

import ipaddress
import re
import shlex
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import yaml

from remedlab.remediate.command_policy import CommandRefused, Use, check_command

MAX_PLAYBOOK_BYTES = 256 * 1024
MAX_PAUSE_SECONDS = 300

_PLAY_KEYS = frozenset(
    {"name", "hosts", "connection", "gather_facts", "vars", "tasks", "pre_tasks", "post_tasks", "handlers",
     "any_errors_fatal", "ignore_errors", "serial", "strategy", "tags", "collections",
     "max_fail_percentage", "order", "no_log", "check_mode", "diff", "force_handlers"}
)  # fmt: skip
_TASK_KEYWORDS = frozenset(
    {"name", "when", "register", "ignore_errors", "loop", "loop_control", "with_items", "with_list",
     "with_dict", "with_sequence", "vars", "tags", "changed_when", "failed_when", "retries", "delay", "until",
     "notify", "no_log", "run_once", "check_mode", "diff", "timeout", "args", "listen",
     "any_errors_fatal", "ignore_unreachable", "throttle"}
)  # fmt: skip
_BLOCK_KEYS = ("block", "rescue", "always")
_FORBIDDEN_KEYS = {
    "become": "privilege escalation is not allowed",
    "become_user": "privilege escalation is not allowed",
    "become_method": "privilege escalation is not allowed",
    "become_flags": "privilege escalation is not allowed",
    "delegate_to": "tasks run on localhost only",
    "delegate_facts": "tasks run on localhost only",
    "local_action": "use a plain task: it runs on localhost already",
    "remote_user": "tasks run as the sandbox's user",
    "roles": "roles load files from the host: write the tasks in the playbook",
    "vars_files": "files on the host are not read: put the variables in the playbook",
    "vars_prompt": "playbooks run unattended",
    "module_defaults": "not allowed",
    "async": "tasks run in the foreground",
    "environment": "the sandbox's environment is fixed",
    "poll": "tasks run in the foreground",
}
_INCLUDES = ("include", "include_tasks", "import_tasks", "include_role", "import_role", "import_playbook",
             "include_vars")  # fmt: skip
_ALLOWED_MODULES = frozenset({"command", "shell", "debug", "pause", "wait_for", "set_fact", "assert", "fail", "uri"})
_MODULE_PREFIXES = ("ansible.builtin.", "ansible.legacy.")
_FILTERS = frozenset({"default", "d", "int", "float", "string", "lower", "upper", "trim", "length", "to_json",
                      "to_yaml", "from_json", "bool", "join", "first", "last", "replace", "regex_search"})  # fmt: skip
_JINJA = re.compile(r"\{\{(.*?)\}\}|\{%|\{#", re.DOTALL)
_VARIABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*|\[\d+\]|\[(\"|')[\w.-]+(\"|')\])*$")
_LITERAL = re.compile(r"^(\"[^\"{}]*\"|'[^'{}]*'|-?\d+(\.\d+)?|true|false|True|False|none|None)$")


class PlaybookRefused(ValueError):
    """A playbook the policy does not allow; the message names the play and task and says why."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"{where}: {reason}" if where else reason)
        self.where = where
        self.reason = reason


@dataclass(frozen=True)
class CheckedPlaybook:
    plays: list[dict[str, Any]]
    tasks: int


def _module_name(name: str) -> str:
    for prefix in _MODULE_PREFIXES:
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


# ------------------------------------------------------------------------------ Jinja


def _check_expression(where: str, expression: str) -> None:
    parts = [p.strip() for p in _split_filters(expression)]
    head, filters = parts[0], parts[1:]
    if not (_VARIABLE.match(head) or _LITERAL.match(head)):
        raise PlaybookRefused(where, f"{{{{ {expression.strip()} }}}}: only variable references are templated here")
    for item in filters:
        name, _, args = item.partition("(")
        if name.strip() not in _FILTERS:
            raise PlaybookRefused(where, f"{{{{ {expression.strip()} }}}}: the filter {name.strip()!r} is not allowed")
        if args and not all(_LITERAL.match(a.strip()) for a in args.rstrip(")").split(",") if a.strip()):
            raise PlaybookRefused(where, f"{{{{ {expression.strip()} }}}}: filter arguments must be literals")


def _split_filters(expression: str) -> list[str]:
    parts, current, quote, depth = [], [], "", 0
    for ch in expression:
        if quote:
            current.append(ch)
            if ch == quote:
                quote = ""
            continue
        if ch in "'\"":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        current.append(ch)
    parts.append("".join(current))
    return parts


def check_templates(where: str, value: Any) -> None:
    """Every string inside ``value`` may hold only plain ``{{ variable | filter }}`` expressions."""
    for text in _strings(value):
        for match in _JINJA.finditer(text):
            if match.group(1) is None:
                raise PlaybookRefused(where, "Jinja statements and comments ({% %}, {# #}) are not allowed")
            _check_expression(where, match.group(1))


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _strings(key)
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


# ------------------------------------------------------------------------------ modules


def _free_form(value: Any) -> tuple[str | None, dict[str, Any]]:
    """A module's free-form command and its ``key=value`` options, or its argument mapping."""
    if isinstance(value, Mapping):
        return None, dict(value)
    if isinstance(value, str):
        return value, {}
    if value is None:
        return None, {}
    raise PlaybookRefused("", "module arguments must be a string or a mapping")


def _check_command_task(where: str, module: str, value: Any, task: Mapping[str, Any]) -> None:
    text, options = _free_form(value)
    options.update(dict(task.get("args") or {}))
    for key in ("chdir", "creates", "removes", "executable", "stdin", "expand_argument_vars"):
        if key in options:
            raise PlaybookRefused(where, f"{module}: the {key!r} option is not allowed")
    unknown = set(options) - {"cmd", "argv", "strip_empty_ends", "warn"}
    if unknown:
        raise PlaybookRefused(where, f"{module}: unknown option(s) {', '.join(sorted(unknown))}")
    commands: list[str] = []
    if text is not None:
        commands.append(text)
    if "cmd" in options:
        commands.append(str(options["cmd"]))
    if "argv" in options:
        argv = options["argv"]
        if not isinstance(argv, list) or not all(isinstance(a, str | int) for a in argv):
            raise PlaybookRefused(where, f"{module}: argv must be a list of words")
        commands.append(shlex.join(str(a) for a in argv))
    if len(commands) != 1:
        raise PlaybookRefused(where, f"{module}: give exactly one command")
    try:
        check_command(commands[0], Use.REMEDIATION)
    except CommandRefused as exc:
        raise PlaybookRefused(where, str(exc)) from None


def _loopback_host(host: str) -> bool:
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _check_module(where: str, module: str, value: Any, task: Mapping[str, Any]) -> None:
    if module in ("command", "shell"):
        _check_command_task(where, module, value, task)
        return
    _, options = _free_form(value) if not isinstance(value, str) else (None, _key_values(where, value))
    if module == "pause":
        if "prompt" in options:
            raise PlaybookRefused(where, "pause: playbooks run unattended (no prompt)")
        seconds = float(options.get("seconds", 0) or 0) + 60 * float(options.get("minutes", 0) or 0)
        if seconds > MAX_PAUSE_SECONDS:
            raise PlaybookRefused(where, f"pause: at most {MAX_PAUSE_SECONDS} s")
    elif module == "wait_for":
        for key in ("path", "search_regex", "exclude_hosts"):
            if key in options:
                raise PlaybookRefused(where, f"wait_for: {key!r} is not allowed (ports of cluster services only)")
        if not _loopback_host(str(options.get("host", "127.0.0.1"))):
            raise PlaybookRefused(where, "wait_for: only cluster service addresses (127.0.0.0/8)")
    elif module == "uri":
        for key in ("dest", "src", "unix_socket", "remote_src", "client_cert", "client_key", "ca_path"):
            if key in options:
                raise PlaybookRefused(where, f"uri: {key!r} is not allowed (no files)")
        url = str(options.get("url", ""))
        parts = urlsplit(url)
        if parts.scheme != "http" or not _loopback_host(parts.hostname or "-"):
            raise PlaybookRefused(where, f"uri: {url!r}: only http:// URLs of cluster services (127.0.0.0/8)")


def _key_values(where: str, text: str) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for word in shlex.split(text):
        key, sep, val = word.partition("=")
        if not sep:
            raise PlaybookRefused(where, f"expected key=value arguments, not {word!r}")
        options[key] = val
    return options


# ------------------------------------------------------------------------------ plays and tasks


def _task_where(play: str, index: int, task: Mapping[str, Any]) -> str:
    name = task.get("name")
    return f"{play}, task {index + 1}{f' ({name!r})' if name else ''}"


def _check_task(play: str, index: int, task: Any, count: list[int]) -> None:
    if not isinstance(task, Mapping):
        raise PlaybookRefused(f"{play}, task {index + 1}", "a task must be a mapping")
    where = _task_where(play, index, task)
    for key in task:
        if key in _FORBIDDEN_KEYS:
            raise PlaybookRefused(where, f"{key}: {_FORBIDDEN_KEYS[key]}")
        if _module_name(str(key)) in _INCLUDES:
            raise PlaybookRefused(where, f"{key}: included files are not allowed: write the tasks in the playbook")
    check_templates(where, dict(task))
    if any(key in task for key in _BLOCK_KEYS):
        for key in _BLOCK_KEYS:
            for i, inner in enumerate(task.get(key) or []):
                _check_task(f"{where} {key}", i, inner, count)
        return
    modules = [key for key in task if key not in _TASK_KEYWORDS]
    if len(modules) != 1:
        found = ", ".join(map(str, modules)) or "none"
        raise PlaybookRefused(where, f"a task names exactly one module (found: {found})")
    module = _module_name(str(modules[0]))
    if module not in _ALLOWED_MODULES:
        allowed = ", ".join(sorted(_ALLOWED_MODULES))
        raise PlaybookRefused(where, f"the module {modules[0]!r} is not allowed (allowed: {allowed})")
    _check_module(where, module, task[modules[0]], task)
    count[0] += 1


def check_playbook(text: str) -> CheckedPlaybook:
    """The playbook's plays when every play and task passes the policy; :class:`PlaybookRefused` otherwise."""
    if len(text.encode()) > MAX_PLAYBOOK_BYTES:
        raise PlaybookRefused("", f"the playbook is larger than {MAX_PLAYBOOK_BYTES // 1024} KiB")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        problem = " ".join(str(getattr(exc, "problem", None) or exc).split())
        raise PlaybookRefused("", f"the playbook is not valid YAML{where}: {problem}") from None
    if not isinstance(data, list) or not data:
        raise PlaybookRefused("", "a playbook is a non-empty list of plays")
    count = [0]
    for p, play in enumerate(data):
        label = f"play {p + 1}"
        if not isinstance(play, Mapping):
            raise PlaybookRefused(label, "a play must be a mapping")
        if play.get("name"):
            label += f" ({play['name']!r})"
        for key in play:
            if key in _FORBIDDEN_KEYS:
                raise PlaybookRefused(label, f"{key}: {_FORBIDDEN_KEYS[key]}")
            if _module_name(str(key)) in _INCLUDES:
                raise PlaybookRefused(label, f"{key}: other playbooks are not imported")
            if key not in _PLAY_KEYS:
                raise PlaybookRefused(label, f"unknown play keyword {key!r}")
        hosts = play.get("hosts")
        if hosts not in ("localhost", "127.0.0.1", "all", ["localhost"]):
            raise PlaybookRefused(label, f"hosts: {hosts!r}: plays run on localhost (hosts: localhost)")
        if play.get("connection", "local") != "local":
            raise PlaybookRefused(label, "connection: plays use the local connection")
        check_templates(label, {k: v for k, v in play.items() if k in ("vars", "name")})
        for section in ("pre_tasks", "tasks", "post_tasks", "handlers"):
            tasks = play.get(section) or []
            if not isinstance(tasks, list):
                raise PlaybookRefused(label, f"{section} must be a list of tasks")
            for i, task in enumerate(tasks):
                _check_task(label if section == "tasks" else f"{label} {section}", i, task, count)
    if count[0] == 0:
        raise PlaybookRefused("", "the playbook has no task")
    return CheckedPlaybook(plays=list(data), tasks=count[0])
