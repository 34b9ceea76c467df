"""Which commands an agent may run, checked before anything runs.

Agents' commands are never given to a shell: a command line is split into
words the way a POSIX shell would (quotes respected), and the words run as one
program. Shell syntax that would do more than that (pipes, redirections, `;`
inside a probe's command, `&&`, command substitution, variables) is refused
with a message saying so, rather than passed on as literal words.

Two uses, two allowlists:

- **probes** (read-only diagnosis, ThinkRemed's ``probe_system``): ``kubectl``
  with a read-only verb (get, describe, logs, top, events, explain,
  api-resources, version, cluster-info, ``rollout status|history``, and
  ``exec`` of a read-only program in a pod), and ``curl`` GETs of loopback
  (cluster service) addresses;
- **remediation** (commands of a playbook's ``command``/``shell`` tasks):
  ``kubectl`` with the verbs that change workloads (apply, create, delete,
  patch, replace, scale, rollout, set, label, annotate, wait, exec), never
  interactive or long-running ones, plus what probes may run.

``kubectl`` is the real one, reaching this lab through the sandbox's
KUBECONFIG. Everywhere, it may not be pointed elsewhere or given other
credentials (``--server``, ``--token``, ``--kubeconfig``, ``--proxy-url``,
client certificates, impersonation), may not write host files (``--cache-dir``,
``--profile-output``), and files it reads or writes (``-f``, ``-k``,
``--from-file``, ``--from-env-file``, ``--patch-file``, ``--cert``, ``--key``,
``-o go-template-file=`` and the other template files, ``--output-directory``)
must be relative paths inside the working directory. Short flags are read as
kubectl reads them, clusters included (``-Rf FILE``).
"""

from __future__ import annotations

import ipaddress
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from urllib.parse import urlsplit

MAX_COMMAND_LENGTH = 4096
"""Longest command line accepted, in characters."""


class Use(Enum):
    PROBE = "probe"
    REMEDIATION = "remediation"


class CommandRefused(ValueError):
    """A command the policy does not allow; the message says why, in one line, for the agent to read."""

    def __init__(self, command: str, reason: str) -> None:
        shown = command if len(command) <= 200 else command[:197] + "..."
        super().__init__(f"refused {shown!r}: {reason}")
        self.command = command
        self.reason = reason


@dataclass(frozen=True)
class Allowed:
    """A checked command: the program's words, ready to run without a shell."""

    argv: tuple[str, ...]
    text: str


# ------------------------------------------------------------------------------ shell syntax

_OPERATORS = {
    "|": "pipes",
    "||": "'||'",
    "&": "background jobs",
    "&&": "'&&'",
    ";": "';' (send one command per line, or separate probe commands with ';' at the top level)",
    ";;": "';;'",
    ">": "redirections",
    ">>": "redirections",
    "<": "redirections",
    "<<": "here-documents",
    "(": "subshells",
    ")": "subshells",
}


def split_words(text: str) -> list[str]:
    """The words of one command line, as a shell splits them; shell syntax beyond words is refused."""
    if len(text) > MAX_COMMAND_LENGTH:
        raise CommandRefused(text, f"longer than {MAX_COMMAND_LENGTH} characters")
    if any(ch in text for ch in ("\n", "\r", "\0")):
        raise CommandRefused(text, "one command per line: it holds a line break or a NUL character")
    _check_expansions(text)
    lexer = shlex.shlex(text, posix=True, punctuation_chars=";&|<>()")
    lexer.whitespace_split = True
    lexer.commenters = ""
    try:
        tokens = list(lexer)
    except ValueError as exc:
        raise CommandRefused(text, f"cannot split it into words: {exc}") from None
    for token in tokens:
        if token in _OPERATORS:
            raise CommandRefused(text, f"shell syntax is not run: no {_OPERATORS[token]}")
    if not tokens:
        raise CommandRefused(text, "empty command")
    return tokens


def _check_expansions(text: str) -> None:
    """Refuse `$...` and backquotes outside single quotes: a shell would expand them."""
    quote = ""
    for i, ch in enumerate(text):
        if quote == "'":
            if ch == "'":
                quote = ""
            continue
        if ch == "\\" and quote != "'":
            continue
        if ch == "'" and not quote:
            quote = "'"
        elif ch == '"':
            quote = "" if quote == '"' else '"'
        elif ch == "`" or (ch == "$" and i + 1 < len(text) and (text[i + 1].isalnum() or text[i + 1] in "{(_")):
            raise CommandRefused(text, "shell expansions ($VAR, $(...), backquotes) are not run")


def split_probe(commands: str) -> list[str]:
    """A probe string's commands: ThinkRemed sends several separated by ';' (outside quotes)."""
    parts: list[str] = []
    current: list[str] = []
    quote = ""
    for ch in commands:
        if quote:
            current.append(ch)
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
            current.append(ch)
        elif ch == ";":
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


# ------------------------------------------------------------------------------ kubectl

_PROBE_VERBS = frozenset(
    {"get", "describe", "logs", "top", "events", "explain", "api-resources", "api-versions", "version", "cluster-info"}
)
_REMEDIATION_VERBS = _PROBE_VERBS | frozenset(
    {"apply", "create", "delete", "patch", "replace", "scale", "rollout", "set", "label", "annotate", "wait", "exec"}
)
_NEVER_VERBS = {
    "edit": "it opens an editor; use kubectl patch or kubectl set",
    "port-forward": "it never ends; call the Service's cluster IP instead",
    "proxy": "it never ends",
    "attach": "it is interactive",
    "debug": "it starts debugging containers",
    "cp": "it copies files between the host and pods",
    "config": "the sandbox's kubectl configuration is fixed",
    "plugin": "plugins are host programs",
    "run": "it starts arbitrary images",
    "auth": "not available to agents",
    "certificate": "not available to agents",
    "drain": "nodes are not the agent's to drain",
    "cordon": "nodes are not the agent's to cordon",
    "uncordon": "nodes are not the agent's to uncordon",
    "taint": "nodes are not the agent's to taint",
}
_ROLLOUT_PROBE = frozenset({"status", "history"})
_REDIRECTING_FLAGS = frozenset(
    {"--server", "-s", "--token", "--kubeconfig", "--as", "--as-group", "--as-uid", "--as-user-extra",
     "--certificate-authority", "--client-certificate", "--client-key", "--username", "--password", "--proxy-url"}
)  # fmt: skip
_HOST_FILE_FLAGS = {
    "--cache-dir": "kubectl's cache stays in the working directory",
    "--kuberc": "kubectl's preferences are fixed",
    "--profile": "profiling is not available",
    "--profile-output": "profiling is not available",
    "--edit": "it opens an editor; use kubectl patch or kubectl set",
    "-k": "kustomize may fetch remote repositories; use -f",
    "--kustomize": "kustomize may fetch remote repositories; use -f",
}
_PATH_FLAGS = frozenset(
    {"-f", "--filename", "--from-file", "--from-env-file", "--patch-file", "--cert", "--key", "--output-directory"}
)
"""Flags naming files kubectl reads or writes; the list-valued ones take comma-separated paths."""
_LONG_VALUE_FLAGS = _PATH_FLAGS | {"--output", "--template"} | _REDIRECTING_FLAGS | set(_HOST_FILE_FLAGS)
_SHORT_VALUE_LETTERS = "nlcLepfkos"
"""kubectl's one-letter flags that take a value; the others (-A, -R, -i, -t, -w, -q...) do not."""
_INSIDE = "files must be relative paths inside the working directory"
_FILE_OUTPUTS = frozenset({"go-template-file", "templatefile", "jsonpath-file", "custom-columns-file"})
_VALUE_FLAGS = frozenset(
    {"-n", "--namespace", "-o", "--output", "-l", "--selector", "-c", "--container", "--field-selector",
     "--context", "--cluster", "--user", "--request-timeout", "--tail", "--since", "--timeout", "-f", "--filename"}
)  # fmt: skip
_INTERACTIVE_FLAGS = ("-i", "--stdin", "-t", "--tty", "-it", "-ti", "-w", "--watch", "--watch-only", "--follow")
_READ_ONLY_IN_PODS = frozenset(
    {"cat", "ls", "env", "printenv", "ps", "df", "du", "head", "tail", "grep", "wc", "date", "id", "whoami",
     "hostname", "uptime", "free", "pg_isready", "echo", "true"}
)  # fmt: skip


def _flag_name(word: str) -> str:
    return word.split("=", 1)[0]


def _verb_and_rest(words: Sequence[str]) -> tuple[str, list[str]]:
    """kubectl's verb (its first word that is not a global flag or a flag's value) and the words after it."""
    i = 0
    while i < len(words):
        word = words[i]
        if not word.startswith("-") or word == "-":
            return word, list(words[i + 1 :])
        i += 2 if word in _VALUE_FLAGS else 1
    return "", []


def _kubectl_words(words: list[str]) -> list[str] | None:
    """The words after `kubectl` (or `remedlab kubectl`), or None when the program is not kubectl."""
    program = words[0].rsplit("/", 1)[-1]
    if program == "kubectl":
        return words[1:]
    if program == "remedlab" and len(words) > 1 and words[1] == "kubectl":
        return words[2:]
    return None


def read_flags(args: Sequence[str], verb: str) -> list[tuple[str, str]]:
    """Each flag in ``args`` (up to a ``--``) with its value ('' when it has none), as kubectl's parser reads
    them: ``--name=value``, ``--name value`` for the flags checked here, and clusters of one-letter flags
    (``-Rf FILE``, ``-nNAMESPACE``) letter by letter. A value that looks like a flag is also read as one."""
    found: list[tuple[str, str]] = []
    plain_letters = "fp" if verb == "logs" else ""  # logs -f follows, logs -p reads the previous container
    for i, word in enumerate(args):
        if word == "--":
            break
        following = args[i + 1] if i + 1 < len(args) else ""
        if word.startswith("--"):
            name, equals, value = word.partition("=")
            found.append((name, value if equals else (following if name in _LONG_VALUE_FLAGS else "")))
        elif word.startswith("-") and len(word) > 1:
            for j, letter in enumerate(word[1:], start=1):
                if letter in _SHORT_VALUE_LETTERS and letter not in plain_letters:
                    attached = word[j + 1 :].removeprefix("=")
                    found.append((f"-{letter}", attached or following))
                    break
                found.append((f"-{letter}", ""))
    return found


def _relative_inside(value: str) -> bool:
    return not (value.startswith(("/", "~")) or ".." in value.split("/") or "://" in value)


def _check_flags(text: str, flags: list[tuple[str, str]]) -> None:
    """Flags that point kubectl elsewhere or at host files."""
    file_output = False
    for name, value in flags:
        if name in _REDIRECTING_FLAGS:
            raise CommandRefused(text, f"{name} is not allowed: the sandbox's kubectl talks to this lab only")
        if name in _HOST_FILE_FLAGS:
            raise CommandRefused(text, f"{name} is not allowed: {_HOST_FILE_FLAGS[name]}")
        paths: list[str] = []
        if name in _PATH_FLAGS:
            # a list of paths, comma-separated; --from-file=[key=]source: the key's source too
            paths = [value] + [part.strip().strip('"') for part in value.split(",")]
            paths += [path.partition("=")[2] for path in paths]
        elif name in ("-o", "--output"):
            output, _, template = value.partition("=")
            file_output = file_output or output in _FILE_OUTPUTS
            paths = [template] if output in _FILE_OUTPUTS else []
        for path in paths:
            if path != "-" and not _relative_inside(path):
                raise CommandRefused(text, f"{name} {path}: {_INSIDE}")
    if file_output:
        for name, value in flags:
            if name == "--template" and not _relative_inside(value):
                raise CommandRefused(text, f"--template {value}: {_INSIDE}")


def check_kubectl(text: str, args: list[str], use: Use) -> None:
    verb, rest = _verb_and_rest(args)
    flags = read_flags(args, verb)
    _check_flags(text, flags)
    if not verb:
        raise CommandRefused(text, "no kubectl command given (e.g. kubectl get pods -n NAMESPACE)")
    if verb in _NEVER_VERBS:
        raise CommandRefused(text, f"kubectl {verb} is not allowed: {_NEVER_VERBS[verb]}")
    allowed = _PROBE_VERBS if use is Use.PROBE else _REMEDIATION_VERBS
    if verb == "rollout" and use is Use.PROBE:
        sub, _ = _verb_and_rest(rest)
        if sub not in _ROLLOUT_PROBE:
            raise CommandRefused(text, "probes are read-only: kubectl rollout status|history only")
    elif verb == "exec":
        _check_exec(text, rest, use)
    elif verb not in allowed:
        if use is Use.PROBE and verb in _REMEDIATION_VERBS:
            reason = f"probes are read-only: kubectl {verb} changes the system; put it in the playbook"
            raise CommandRefused(text, reason)
        raise CommandRefused(text, f"kubectl {verb} is not a command agents may run")
    if verb == "logs" and any(name in ("-f", "--follow") and value != "false" for name, value in flags):
        raise CommandRefused(text, "kubectl logs -f never ends: use --tail=N or --since=DURATION")
    if verb == "apply" and _verb_and_rest(rest)[0] == "edit-last-applied":
        raise CommandRefused(text, "kubectl apply edit-last-applied opens an editor; use kubectl patch")
    for name, value in flags:
        if name in _INTERACTIVE_FLAGS and not (name == "--watch" and value == "false"):
            raise CommandRefused(text, f"{name} is interactive or never ends: not allowed here")


def _check_exec(text: str, rest: list[str], use: Use) -> None:
    if "--" not in rest:
        raise CommandRefused(text, "kubectl exec needs the command after '--' (kubectl exec POD -- COMMAND)")
    before = rest[: rest.index("--")]
    inner = rest[rest.index("--") + 1 :]
    for word in before:
        if _flag_name(word) in _INTERACTIVE_FLAGS:
            raise CommandRefused(text, f"kubectl exec {_flag_name(word)} is interactive: not allowed")
    if not inner:
        raise CommandRefused(text, "kubectl exec: no command after '--'")
    if use is Use.PROBE and inner[0].rsplit("/", 1)[-1] not in _READ_ONLY_IN_PODS:
        allowed = ", ".join(sorted(_READ_ONLY_IN_PODS))
        raise CommandRefused(text, f"probes are read-only: exec may run {allowed} in a pod, not {inner[0]}")


# ------------------------------------------------------------------------------ curl

_CURL_BOOL = frozenset({"-s", "--silent", "-S", "--show-error", "-i", "--include", "-I", "--head", "-v", "--verbose",
                        "-f", "--fail", "-L", "--location", "-sS", "-sf", "-fsS", "-sSf", "-fs"})  # fmt: skip
_CURL_VALUE = frozenset({"-m", "--max-time", "--connect-timeout", "-H", "--header", "-w", "--write-out"})


def check_curl(text: str, args: list[str]) -> None:
    """curl GETs of loopback http URLs only: no output files, no uploads, no other protocols."""
    urls: list[str] = []
    i = 0
    while i < len(args):
        word = args[i]
        name = _flag_name(word)
        if name in _CURL_VALUE:
            i += 1 if "=" in word else 2
            continue
        if word in _CURL_BOOL:
            i += 1
            continue
        if word.startswith("-"):
            raise CommandRefused(text, f"curl {name} is not allowed (GETs of cluster services only)")
        urls.append(word)
        i += 1
    if not urls:
        raise CommandRefused(text, "curl: no URL")
    for url in urls:
        parts = urlsplit(url if "://" in url else "http://" + url)
        if parts.scheme != "http":
            raise CommandRefused(text, f"curl {url}: only http:// URLs of cluster services")
        host = parts.hostname or ""
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = host == "localhost"
        if not loopback:
            raise CommandRefused(text, f"curl {url}: only cluster service addresses (127.0.0.0/8) may be called")


# ------------------------------------------------------------------------------ entry points


def check_command(text: str, use: Use) -> Allowed:
    """The command's words when the policy allows it for ``use``; :class:`CommandRefused` otherwise."""
    words = split_words(text.strip())
    kubectl_args = _kubectl_words(words)
    if kubectl_args is not None:
        check_kubectl(text, kubectl_args, use)
    elif words[0] == "curl":
        check_curl(text, words[1:])
    else:
        raise CommandRefused(text, f"{words[0]} is not allowed: agents run kubectl (and curl to cluster services)")
    return Allowed(tuple(words), text)


def check_probe(commands: str) -> list[Allowed]:
    """Every command of a ';'-separated probe string, each checked as read-only; the first refusal raises."""
    parts = split_probe(commands)
    if not parts:
        raise CommandRefused(commands, "no command given")
    return [check_command(part, Use.PROBE) for part in parts]
