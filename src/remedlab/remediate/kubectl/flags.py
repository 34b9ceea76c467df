"""Command-line flags with kubectl's syntax.

Flags may appear anywhere among the arguments: `--name=value`, `--name value`,
`-n value`, `-nvalue`, `-n=value`, grouped boolean shorthands (`-it`), and
`--flag=false` for booleans.  Everything after `--` is passed through untouched.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from remedlab.remediate.kubectl.errors import FlagError

FlagKind = Literal["bool", "value", "multi"]

_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
_FALSE = {"0", "f", "F", "FALSE", "false", "False"}


@dataclass(frozen=True)
class Flag:
    name: str
    short: str = ""
    kind: FlagKind = "bool"
    help: str = ""
    default: str = ""

    @property
    def takes_value(self) -> bool:
        return self.kind != "bool"


def value_flag(name: str, short: str = "", help: str = "", default: str = "") -> Flag:
    return Flag(name, short, "value", help, default)


def multi_flag(name: str, short: str = "", help: str = "") -> Flag:
    return Flag(name, short, "multi", help)


def bool_flag(name: str, short: str = "", help: str = "", default: str = "false") -> Flag:
    return Flag(name, short, "bool", help, default)


@dataclass
class ParsedArgs:
    command_path: str
    positionals: list[str] = field(default_factory=list)
    after_dash: list[str] | None = None
    values: dict[str, list[str]] = field(default_factory=dict)
    bools: dict[str, bool] = field(default_factory=dict)

    def is_set(self, name: str) -> bool:
        return name in self.values or name in self.bools

    def value(self, name: str, default: str | None = None) -> str | None:
        found = self.values.get(name)
        return found[-1] if found else default

    def text(self, name: str, default: str = "") -> str:
        found = self.values.get(name)
        return found[-1] if found else default

    def all_values(self, name: str) -> list[str]:
        """Every value given for a repeatable flag, in order."""
        return list(self.values.get(name, []))

    def flag(self, name: str, default: bool = False) -> bool:
        return self.bools.get(name, default)

    def int_value(self, name: str, default: int) -> int:
        raw = self.value(name)
        if raw is None:
            return default
        try:
            return int(raw)
        except ValueError:
            raise FlagError(
                f'invalid argument "{raw}" for "--{name}" flag: strconv.ParseInt: parsing "{raw}": invalid syntax',
                self.command_path,
            ) from None


def parse_bool(raw: str, flag_name: str, command_path: str) -> bool:
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise FlagError(
        f'invalid argument "{raw}" for "--{flag_name}" flag: strconv.ParseBool: parsing "{raw}": invalid syntax',
        command_path,
    )


class FlagSet:
    def __init__(self, flags: Sequence[Flag], command_path: str) -> None:
        self.command_path = command_path
        self.by_name: dict[str, Flag] = {}
        self.by_short: dict[str, Flag] = {}
        for flag in flags:
            self.by_name[flag.name] = flag
            if flag.short:
                self.by_short[flag.short] = flag

    def parse(self, argv: Sequence[str]) -> ParsedArgs:
        parsed = ParsedArgs(self.command_path)
        index = 0
        while index < len(argv):
            token = argv[index]
            index += 1
            if token == "--":
                parsed.after_dash = list(argv[index:])
                break
            if token.startswith("--"):
                index = self._parse_long(token, argv, index, parsed)
            elif token.startswith("-") and token != "-":
                index = self._parse_shorts(token, argv, index, parsed)
            else:
                parsed.positionals.append(token)
        return parsed

    def _parse_long(self, token: str, argv: Sequence[str], index: int, parsed: ParsedArgs) -> int:
        name, has_value, inline = token[2:].partition("=")
        flag = self.by_name.get(name)
        if flag is None:
            raise FlagError(f"unknown flag: --{name}", self.command_path)
        if not flag.takes_value:
            parsed.bools[flag.name] = parse_bool(inline, flag.name, self.command_path) if has_value else True
            return index
        if not has_value:
            if index >= len(argv):
                raise FlagError(f"flag needs an argument: --{name}", self.command_path)
            inline = argv[index]
            index += 1
        parsed.values.setdefault(flag.name, []).append(inline)
        return index

    def _parse_shorts(self, token: str, argv: Sequence[str], index: int, parsed: ParsedArgs) -> int:
        letters = token[1:]
        position = 0
        while position < len(letters):
            letter = letters[position]
            flag = self.by_short.get(letter)
            if flag is None:
                raise FlagError(f"unknown shorthand flag: '{letter}' in {token}", self.command_path)
            rest = letters[position + 1 :]
            if not flag.takes_value:
                if rest.startswith("="):
                    parsed.bools[flag.name] = parse_bool(rest[1:], flag.name, self.command_path)
                    return index
                parsed.bools[flag.name] = True
                position += 1
                continue
            if rest:
                value = rest[1:] if rest.startswith("=") else rest
            elif index < len(argv):
                value = argv[index]
                index += 1
            else:
                raise FlagError(f"flag needs an argument: '{letter}' in {token}", self.command_path)
            parsed.values.setdefault(flag.name, []).append(value)
            return index
        return index

    def first_positional(self, argv: Sequence[str]) -> int | None:
        """Index of the first argument that is neither a known flag nor a flag's value."""
        index = 0
        while index < len(argv):
            token = argv[index]
            if token == "--":
                return None
            if token.startswith("--"):
                name, has_value, _ = token[2:].partition("=")
                flag = self.by_name.get(name)
                if flag is None:
                    raise FlagError(f"unknown flag: --{name}", self.command_path)
                index += 2 if flag.takes_value and not has_value else 1
                continue
            if token.startswith("-") and token != "-":
                index += self._short_token_length(token)
                continue
            return index
        return None

    def _short_token_length(self, token: str) -> int:
        letters = token[1:]
        for position, letter in enumerate(letters):
            flag = self.by_short.get(letter)
            if flag is None:
                raise FlagError(f"unknown shorthand flag: '{letter}' in {token}", self.command_path)
            if flag.takes_value:
                return 1 if letters[position + 1 :] else 2
        return 1
