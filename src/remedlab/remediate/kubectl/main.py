"""Entry point of remedlab's kubectl: argument parsing and dispatch.

Starts fast: only the standard library and the modules of this package load
here; each command's module is imported when that command runs.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable, Sequence
from typing import TextIO

from remedlab.remediate.kubectl.client import ApiClient
from remedlab.remediate.kubectl.commands import (
    COMMANDS,
    GLOBAL_FLAGS,
    UNSUPPORTED,
    CommandGroup,
    CommandSpec,
)
from remedlab.remediate.kubectl.context import DEFAULT_NAMESPACE, CommandContext
from remedlab.remediate.kubectl.errors import CommandError, FlagError, KubectlError
from remedlab.remediate.kubectl.flags import Flag, FlagSet, ParsedArgs
from remedlab.remediate.kubectl.humanize import parse_duration

Handler = Callable[[CommandContext, ParsedArgs], int]


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    out, err = sys.stdout, sys.stderr
    try:
        return run_command(args, out, err)
    except KubectlError as exc:
        err.write(exc.render() + "\n")
        return exc.exit_code
    except BrokenPipeError:
        # The reader went away (e.g. `| head`); stop quietly.
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return 1
    except KeyboardInterrupt:
        return 130


def run_command(args: list[str], out: TextIO, err: TextIO) -> int:
    global_set = FlagSet(GLOBAL_FLAGS, "")
    index = global_set.first_positional(args)
    if index is None:
        parsed = global_set.parse(args)
        out.write(root_help())
        return 0 if parsed.flag("help") or not args else 1
    verb = args[index]
    rest = args[:index] + args[index + 1 :]
    entry = COMMANDS.get(verb)
    if entry is None:
        if verb in UNSUPPORTED:
            raise CommandError(f'"kubectl {verb}" is not supported by remedlab\'s kubectl')
        raise CommandError(f'unknown command "{verb}" for "kubectl"')
    if isinstance(entry, CommandGroup):
        spec, rest = _pick_subcommand(entry, rest, out)
        if spec is None:
            return 0
    else:
        spec = entry
    flags: tuple[Flag, ...] = GLOBAL_FLAGS + spec.flags
    parsed = FlagSet(flags, spec.path).parse(rest)
    if parsed.flag("help"):
        out.write(command_help(spec))
        return 0
    ctx = _context(parsed, out, err)
    module = importlib.import_module(f"remedlab.remediate.kubectl.{spec.module}")
    handler: Handler = getattr(module, spec.function)
    return handler(ctx, parsed)


def _pick_subcommand(group: CommandGroup, rest: list[str], out: TextIO) -> tuple[CommandSpec | None, list[str]]:
    every_flag: dict[str, Flag] = {f.name: f for f in GLOBAL_FLAGS}
    for sub in group.subcommands.values():
        every_flag.update({f.name: f for f in sub.flags})
    index = FlagSet(tuple(every_flag.values()), group.path).first_positional(rest)
    if index is None:
        out.write(group_help(group))
        return None, rest
    word = rest[index]
    spec = group.lookup(word)
    if spec is None:
        raise CommandError(f'unknown command "{word}" for "kubectl {group.path}"')
    return spec, rest[:index] + rest[index + 1 :]


def _context(parsed: ParsedArgs, out: TextIO, err: TextIO) -> CommandContext:
    timeout: float | None = None
    raw_timeout = parsed.value("request-timeout")
    if raw_timeout:
        try:
            timeout = parse_duration(raw_timeout) or None
        except ValueError:
            raise FlagError(
                f'invalid argument "{raw_timeout}" for "--request-timeout" flag', parsed.command_path
            ) from None
    client = ApiClient.from_env(parsed.value("server"), parsed.value("token"), timeout)
    namespace = parsed.value("namespace")
    return CommandContext(
        client=client,
        out=out,
        err=err,
        namespace=namespace or DEFAULT_NAMESPACE,
        namespace_given=bool(namespace),
    )


# ---------------------------------------------------------------------- help


def root_help() -> str:
    lines = [
        "kubectl controls the remedlab cluster (a kubectl-compatible subset).",
        "",
        "Commands:",
    ]
    for name, entry in COMMANDS.items():
        lines.append(f"  {name:<15}{entry.summary}")
    lines += [
        "",
        "Usage:",
        "  kubectl [flags] [command] [options]",
        "",
        'Use "kubectl <command> --help" for more information about a given command.',
        "",
    ]
    return "\n".join(lines)


def group_help(group: CommandGroup) -> str:
    lines = [group.summary + ".", "", "Available Commands:"]
    for name, spec in group.subcommands.items():
        lines.append(f"  {name:<17}{spec.summary}")
    lines += ["", f"Usage:\n  kubectl {group.path} SUBCOMMAND [options]", ""]
    return "\n".join(lines)


def command_help(spec: CommandSpec) -> str:
    lines = [spec.summary + ".", "", "Usage:", f"  {spec.usage}", "", "Options:"]
    for flag in spec.flags + GLOBAL_FLAGS:
        names = f"-{flag.short}, --{flag.name}" if flag.short else f"    --{flag.name}"
        if flag.takes_value:
            names += f"='{flag.default}'" if flag.default else "=''"
        lines.append(f"  {names}:\n\t{flag.help}")
        lines.append("")
    return "\n".join(lines)
