"""Checking an agent's Ansible playbook before it runs, and the normalised playbook that runs.

A playbook passes when every play runs on this lab's control plane with the
local connection and every task uses an allowed module with allowed arguments:

- ``hosts``: ``localhost``, ``127.0.0.1``, ``k3s_control_plane`` (MicroRemed's
  inventory group) or ``all``, as a string, a list, or a ``,``/``:`` pattern of
  these; the runner's inventory puts them all on the local connection;
- ``command`` / ``shell``: the command must pass the remediation command
  policy (kubectl, or curl to cluster services; no shell syntax), no ``chdir``,
  ``creates``, ``removes``, ``executable`` or ``stdin``;
- ``debug``, ``pause`` (at most 300 s, no prompt), ``set_fact``, ``assert``, ``fail``;
- ``wait_for``: a loopback host and port, or a plain delay (no paths);
- ``uri``: http URLs of cluster services only, no files.

What MicroRemed's playbooks write for a k3s host is accepted and has no effect,
so it is left out of the normalised playbook (:attr:`CheckedPlaybook.text`, the
text the runner runs): ``become`` (yes or no) with ``become_user: root`` and
``become_method: sudo`` (actions already run as the sandbox's user), and an
``environment`` (play, block or task) whose only variable is ``KUBECONFIG``
(the sandbox's own KUBECONFIG reaches this lab).

Anything that would reach past that is refused: ``become_user`` other than
root and other become methods, any other environment variable, delegation to
other hosts, other connections, ``ansible_*`` variables (they choose the
connection, the host and the interpreter), roles and included files,
``vars_files``, YAML aliases, and Jinja beyond plain variable references with a
few harmless filters (a ``lookup('pipe', ...)`` runs commands,
``lookup('file', ...)`` reads host files). Each refusal names the play and
task, and says why in one line.
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
    "become_flags": "privilege escalation is not allowed",
    "become_exe": "privilege escalation is not allowed",
    "delegate_to": "tasks run on localhost only",
    "delegate_facts": "tasks run on localhost only",
    "local_action": "use a plain task: it runs on localhost already",
    "remote_user": "tasks run as the sandbox's user",
    "roles": "roles load files from the host: write the tasks in the playbook",
    "vars_files": "files on the host are not read: put the variables in the playbook",
    "vars_prompt": "playbooks run unattended",
    "module_defaults": "not allowed",
    "async": "tasks run in the foreground",
    "poll": "tasks run in the foreground",
}
CONTROL_PLANE_GROUP = "k3s_control_plane"
"""MicroRemed's inventory group for the k3s host; the runner's inventory has it, on the local connection."""
HOST_NAMES = ("localhost", "127.0.0.1", CONTROL_PLANE_GROUP, "all")
_NO_EFFECT_KEYS = ("become", "become_user", "become_method", "environment")
"""Keys MicroRemed's playbooks use that are checked, then left out of the normalised playbook."""
_NO_EFFECT_NOTES = {
    "become": "become has no effect: actions already run as the sandbox's user",
    "environment": "environment KUBECONFIG has no effect: the sandbox's KUBECONFIG reaches this lab",
}
_BOOLEAN_WORDS = frozenset({"yes", "no", "true", "false", "on", "off", "y", "n", "1", "0"})
_ENVIRONMENT_FIXED = "the sandbox's environment is fixed (only KUBECONFIG is accepted; the sandbox sets it)"
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
    """A playbook that passed: its normalised plays, their YAML text (what runs), and what was left out."""

    plays: list[dict[str, Any]]
    tasks: int
    text: str = ""
    notes: tuple[str, ...] = ()


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
    args = task.get("args") or {}
    if not isinstance(args, Mapping):
        raise PlaybookRefused(where, f"{module}: args must be a mapping")
    options.update(args)
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
        try:
            seconds = float(options.get("seconds", 0) or 0) + 60 * float(options.get("minutes", 0) or 0)
        except (TypeError, ValueError):
            raise PlaybookRefused(where, "pause: seconds and minutes are numbers") from None
        if seconds > MAX_PAUSE_SECONDS:
            raise PlaybookRefused(where, f"pause: at most {MAX_PAUSE_SECONDS} s")
    elif module == "wait_for":
        for key in ("path", "search_regex", "exclude_hosts"):
            if key in options:
                raise PlaybookRefused(where, f"wait_for: {key!r} is not allowed (ports of cluster services only)")
        if not _loopback_host(str(options.get("host", "127.0.0.1"))):
            raise PlaybookRefused(where, "wait_for: only cluster service addresses (127.0.0.0/8)")
    elif module == "set_fact":
        for name in options:
            if name != "cacheable":
                _check_variable_name(where, "set_fact", name)
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


# ------------------------------------------------------------------------------ keywords


def _is_boolean(value: Any) -> bool:
    return isinstance(value, bool) or (isinstance(value, str) and value.strip().lower() in _BOOLEAN_WORDS)


def _check_environment(where: str, value: Any) -> None:
    for entry in value if isinstance(value, list) else [value]:
        if entry is None:
            continue
        if not isinstance(entry, Mapping):
            raise PlaybookRefused(where, f"environment: {_ENVIRONMENT_FIXED}")
        others = sorted(str(key) for key in entry if key != "KUBECONFIG")
        if others:
            raise PlaybookRefused(where, f"environment: {', '.join(others)}: {_ENVIRONMENT_FIXED}")
        if not isinstance(entry.get("KUBECONFIG", ""), str):
            raise PlaybookRefused(where, "environment: KUBECONFIG must be a path")


def _check_no_effect(where: str, node: Mapping[str, Any], notes: set[str]) -> None:
    """``become`` (to root, by sudo) and ``environment: {KUBECONFIG}``: accepted, noted, and dropped by the caller."""
    if "become" in node:
        if not _is_boolean(node["become"]):
            raise PlaybookRefused(where, f"become: {node['become']!r}: give yes or no")
        notes.add(_NO_EFFECT_NOTES["become"])
    if "become_user" in node and node["become_user"] != "root":
        reason = "privilege escalation is not allowed (actions run as the sandbox's user; only root is accepted)"
        raise PlaybookRefused(where, f"become_user: {node['become_user']!r}: {reason}")
    if "become_method" in node and node["become_method"] != "sudo":
        reason = "privilege escalation is not allowed (only sudo is accepted, and it has no effect)"
        raise PlaybookRefused(where, f"become_method: {node['become_method']!r}: {reason}")
    if "environment" in node:
        _check_environment(where, node["environment"])
        notes.add(_NO_EFFECT_NOTES["environment"])


def _check_variable_name(where: str, what: str, name: Any) -> None:
    if not isinstance(name, str):
        raise PlaybookRefused(where, f"{what}: variable names are strings, not {name!r}")
    if name.startswith("ansible_"):
        reason = "ansible_* variables choose the connection, host and interpreter, which are fixed here"
        raise PlaybookRefused(where, f"{what}: {name}: {reason}")


def _check_vars(where: str, value: Any) -> None:
    """A ``vars`` mapping (or list of mappings), whose names may not be ``ansible_*``."""
    for entry in value if isinstance(value, list) else [value]:
        if entry is None:
            continue
        if not isinstance(entry, Mapping):
            raise PlaybookRefused(where, "vars must be a mapping of names to values")
        for name in entry:
            _check_variable_name(where, "vars", name)


def _check_task_variables(where: str, task: Mapping[str, Any]) -> None:
    if "vars" in task:
        _check_vars(where, task["vars"])
    if "register" in task:
        _check_variable_name(where, "register", task["register"])
    loop_control = task.get("loop_control")
    if loop_control is not None:
        if not isinstance(loop_control, Mapping):
            raise PlaybookRefused(where, "loop_control must be a mapping")
        for key in ("loop_var", "index_var"):
            if key in loop_control:
                _check_variable_name(where, f"loop_control {key}", loop_control[key])


def _check_hosts(label: str, hosts: Any) -> None:
    patterns = hosts if isinstance(hosts, list) else [hosts]
    names = [n.strip() for p in patterns if isinstance(p, str) for n in re.split(r"[,:]", p) if n.strip()]
    if not all(isinstance(p, str) for p in patterns) or not names or any(n not in HOST_NAMES for n in names):
        accepted = f"{', '.join(HOST_NAMES[:-1])} or {HOST_NAMES[-1]}"
        raise PlaybookRefused(label, f"hosts: {hosts!r}: plays run on this lab's control plane ({accepted})")


# ------------------------------------------------------------------------------ plays and tasks


def _task_where(play: str, index: int, task: Mapping[str, Any]) -> str:
    name = task.get("name")
    return f"{play}, task {index + 1}{f' ({name!r})' if name else ''}"


def _check_task(play: str, index: int, task: Any, count: list[int], notes: set[str]) -> dict[str, Any]:
    """Check one task (or block) and return it normalised: without the keys that have no effect here."""
    if not isinstance(task, Mapping):
        raise PlaybookRefused(f"{play}, task {index + 1}", "a task must be a mapping")
    where = _task_where(play, index, task)
    for key in task:
        if key in _FORBIDDEN_KEYS:
            raise PlaybookRefused(where, f"{key}: {_FORBIDDEN_KEYS[key]}")
        if _module_name(str(key)) in _INCLUDES:
            raise PlaybookRefused(where, f"{key}: included files are not allowed: write the tasks in the playbook")
    _check_no_effect(where, task, notes)
    check_templates(where, dict(task))
    _check_task_variables(where, task)
    normalised = {key: value for key, value in task.items() if key not in _NO_EFFECT_KEYS}
    if any(key in normalised for key in _BLOCK_KEYS):
        for key in normalised:
            if key not in _BLOCK_KEYS and key not in _TASK_KEYWORDS:
                raise PlaybookRefused(where, f"unknown block keyword {key!r}")
        for key in _BLOCK_KEYS:
            if key not in normalised:
                continue
            inner = normalised[key] or []
            if not isinstance(inner, list):
                raise PlaybookRefused(where, f"{key} must be a list of tasks")
            normalised[key] = [_check_task(f"{where} {key}", i, t, count, notes) for i, t in enumerate(inner)]
        return normalised
    modules = [key for key in normalised if key not in _TASK_KEYWORDS]
    if len(modules) != 1:
        found = ", ".join(map(str, modules)) or "none"
        raise PlaybookRefused(where, f"a task names exactly one module (found: {found})")
    module = _module_name(str(modules[0]))
    if module not in _ALLOWED_MODULES:
        allowed = ", ".join(sorted(_ALLOWED_MODULES))
        raise PlaybookRefused(where, f"the module {modules[0]!r} is not allowed (allowed: {allowed})")
    _check_module(where, module, normalised[modules[0]], normalised)
    count[0] += 1
    return normalised


def _load(text: str) -> Any:
    """The playbook's YAML, parsed safely; aliases are refused (they can expand a small text enormously)."""
    try:
        if any(isinstance(token, yaml.AliasToken) for token in yaml.scan(text)):
            raise PlaybookRefused("", "YAML aliases (*name) are not accepted: write the values out")
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        problem = " ".join(str(getattr(exc, "problem", None) or exc).split())
        raise PlaybookRefused("", f"the playbook is not valid YAML{where}: {problem}") from None


def _check_play(p: int, play: Any, count: list[int], notes: set[str]) -> dict[str, Any]:
    """Check one play and return it normalised."""
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
        if key not in _PLAY_KEYS and key not in _NO_EFFECT_KEYS:
            raise PlaybookRefused(label, f"unknown play keyword {key!r}")
    _check_hosts(label, play.get("hosts"))
    if play.get("connection", "local") != "local":
        raise PlaybookRefused(label, "connection: plays use the local connection")
    _check_no_effect(label, play, notes)
    check_templates(label, {k: v for k, v in play.items() if k in ("vars", "name")})
    if "vars" in play:
        _check_vars(label, play["vars"])
    normalised = {key: value for key, value in play.items() if key not in _NO_EFFECT_KEYS}
    for section in ("pre_tasks", "tasks", "post_tasks", "handlers"):
        if section not in normalised:
            continue
        tasks = normalised[section] or []
        if not isinstance(tasks, list):
            raise PlaybookRefused(label, f"{section} must be a list of tasks")
        where = label if section == "tasks" else f"{label} {section}"
        normalised[section] = [_check_task(where, i, task, count, notes) for i, task in enumerate(tasks)]
    return normalised


def normalised_text(plays: list[dict[str, Any]]) -> str:
    """The plays as YAML: what the runner writes, so that ansible runs what the policy read."""
    return yaml.safe_dump(plays, sort_keys=False, allow_unicode=True, default_flow_style=False, width=1 << 20)


def check_playbook(text: str) -> CheckedPlaybook:
    """The normalised playbook when every play and task passes the policy; :class:`PlaybookRefused` otherwise."""
    if len(text.encode()) > MAX_PLAYBOOK_BYTES:
        raise PlaybookRefused("", f"the playbook is larger than {MAX_PLAYBOOK_BYTES // 1024} KiB")
    data = _load(text)
    if not isinstance(data, list) or not data:
        raise PlaybookRefused("", "a playbook is a non-empty list of plays")
    count = [0]
    notes: set[str] = set()
    plays = [_check_play(p, play, count, notes) for p, play in enumerate(data)]
    if count[0] == 0:
        raise PlaybookRefused("", "the playbook has no task")
    return CheckedPlaybook(plays=plays, tasks=count[0], text=normalised_text(plays), notes=tuple(sorted(notes)))
