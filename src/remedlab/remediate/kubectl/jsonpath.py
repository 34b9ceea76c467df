"""The JSONPath templates of `kubectl get -o jsonpath=...`, `custom-columns` and `--sort-by`.

Supported: text around `{...}` actions, `{.a.b}`, `{$.a}`, `{@.a}`, `[n]`,
`[-1]`, `[a:b:c]`, `[*]`, `.*`, `..name`, `['key']`, `[?(@.k=="v")]` (with
==, !=, <, <=, >, >= and existence tests), `{"literal\\n"}`, `{range EXPR}...{end}`,
and `\\.` inside field names.  Missing keys print nothing, as with kubectl's
default `--allow-missing-template-keys=true`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

_NAME_STOP = set(".[]()=!<>,}{ \t\n")
_OPERATORS = ("==", "!=", "<=", ">=", "<", ">")


class JsonPathError(ValueError):
    """A template that cannot be parsed or evaluated."""


# ---------------------------------------------------------------------- path steps


@dataclass(frozen=True)
class _Field:
    name: str


@dataclass(frozen=True)
class _Wildcard:
    pass


@dataclass(frozen=True)
class _Slice:
    start: int | None
    end: int | None
    step: int | None
    single: bool


@dataclass(frozen=True)
class _Keys:
    names: tuple[str, ...]


@dataclass(frozen=True)
class _Filter:
    left: _Path
    operator: str
    right: _Path | None
    literal: Any


@dataclass(frozen=True)
class _Recursive:
    inner: _Step


_Step = _Field | _Wildcard | _Slice | _Keys | _Filter | _Recursive


@dataclass(frozen=True)
class _Path:
    from_root: bool
    steps: tuple[_Step, ...]


# ---------------------------------------------------------------------- template nodes


@dataclass
class _Text:
    text: str


@dataclass
class _Expr:
    path: _Path


@dataclass
class _Range:
    path: _Path
    body: list[_Node] = field(default_factory=list)


_Node = _Text | _Expr | _Range


# ---------------------------------------------------------------------- parsing


class _PathParser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def parse(self) -> _Path:
        text = self.text.strip()
        self.text = text
        from_root = False
        if text.startswith("$"):
            from_root = True
            self.pos = 1
        elif text.startswith("@"):
            self.pos = 1
        steps: list[_Step] = []
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if self.text.startswith("..", self.pos):
                self.pos += 2
                steps.append(_Recursive(self._step_after_dot()))
            elif char == ".":
                self.pos += 1
                if self.pos >= len(self.text):
                    break
                if self.text[self.pos] == "[":
                    continue
                steps.append(self._step_after_dot())
            elif char == "[":
                steps.append(self._bracket())
            elif char.isspace():
                self.pos += 1
            elif not steps and self.pos == 0 and char not in _NAME_STOP:
                steps.append(_Field(self._name()))
            else:
                raise JsonPathError(f"unrecognized character in action: {char!r}")
        return _Path(from_root, tuple(steps))

    def _step_after_dot(self) -> _Step:
        if self.pos < len(self.text) and self.text[self.pos] == "*":
            self.pos += 1
            return _Wildcard()
        if self.pos < len(self.text) and self.text[self.pos] == "[":
            return self._bracket()
        name = self._name()
        if not name:
            raise JsonPathError(f"invalid field name at position {self.pos}")
        return _Field(name)

    def _name(self) -> str:
        chars: list[str] = []
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == "\\" and self.pos + 1 < len(self.text):
                chars.append(self.text[self.pos + 1])
                self.pos += 2
                continue
            if char in _NAME_STOP:
                break
            chars.append(char)
            self.pos += 1
        return "".join(chars)

    def _bracket(self) -> _Step:
        end = _matching_bracket(self.text, self.pos)
        if end < 0:
            raise JsonPathError("unclosed array expect ]")
        content = self.text[self.pos + 1 : end].strip()
        self.pos = end + 1
        if content == "*":
            return _Wildcard()
        if content.startswith("?"):
            inner = content[1:].strip()
            if not (inner.startswith("(") and inner.endswith(")")):
                raise JsonPathError(f"invalid filter {content!r}")
            return _parse_filter(inner[1:-1])
        if content[:1] in ("'", '"'):
            return _Keys(tuple(_unquote(part.strip()) for part in _split_outside_quotes(content, ",")))
        if ":" in content:
            parts = [p.strip() for p in content.split(":")]
            if len(parts) > 3:
                raise JsonPathError(f"invalid array index {content!r}")
            numbers = [_int_or_none(p, content) for p in parts] + [None] * (3 - len(parts))
            return _Slice(numbers[0], numbers[1], numbers[2], single=False)
        index = _int_or_none(content, content)
        if index is None:
            raise JsonPathError(f"invalid array index {content!r}")
        return _Slice(index, None, None, single=True)


def _int_or_none(text: str, whole: str) -> int | None:
    if text == "":
        return None
    try:
        return int(text)
    except ValueError:
        raise JsonPathError(f"invalid array index {whole!r}") from None


def _matching_bracket(text: str, start: int) -> int:
    depth = 0
    quote = ""
    for index in range(start, len(text)):
        char = text[index]
        if quote:
            if char == "\\":
                continue
            if char == quote:
                quote = ""
            continue
        if char in ("'", '"'):
            quote = char
        elif char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
            if depth == 0:
                return index
    return -1


def _split_outside_quotes(text: str, separator: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    quote = ""
    for char in text:
        if quote:
            current.append(char)
            if char == quote:
                quote = ""
            continue
        if char in ("'", '"'):
            quote = char
            current.append(char)
        elif char == separator:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in ("'", '"'):
        body = text[1:-1]
        if text[0] == '"':
            try:
                loaded = json.loads(text)
            except ValueError:
                return body
            return loaded if isinstance(loaded, str) else body
        return body.replace("\\'", "'")
    return text


def _find_operator(text: str) -> tuple[int, str]:
    quote = ""
    index = 0
    while index < len(text):
        char = text[index]
        if quote:
            if char == quote:
                quote = ""
        elif char in ("'", '"'):
            quote = char
        else:
            for operator in _OPERATORS:
                if text.startswith(operator, index):
                    return index, operator
        index += 1
    return -1, ""


def _parse_filter(text: str) -> _Filter:
    index, operator = _find_operator(text)
    if index < 0:
        return _Filter(_parse_operand_path(text.strip()), "exists", None, None)
    left = _parse_operand_path(text[:index].strip())
    right_text = text[index + len(operator) :].strip()
    if right_text.startswith(("@", "$")):
        return _Filter(left, operator, _PathParser(right_text).parse(), None)
    return _Filter(left, operator, None, _literal(right_text))


def _parse_operand_path(text: str) -> _Path:
    if not text.startswith(("@", "$")):
        raise JsonPathError(f"unrecognized filter operand {text!r}")
    return _PathParser(text).parse()


def _literal(text: str) -> Any:
    if text[:1] in ("'", '"'):
        return _unquote(text)
    if text in ("true", "false"):
        return text == "true"
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        raise JsonPathError(f"unrecognized filter value {text!r}") from None


def _split_template(template: str) -> Iterator[tuple[bool, str]]:
    """Yield (is_action, text) pieces: literal text and the insides of `{...}`."""
    pos = 0
    while pos < len(template):
        start = template.find("{", pos)
        if start < 0:
            yield False, template[pos:]
            return
        if start > pos:
            yield False, template[pos:start]
        end = _action_end(template, start)
        if end < 0:
            raise JsonPathError(f"unclosed action {template[start:]!r}")
        yield True, template[start + 1 : end]
        pos = end + 1


def _action_end(template: str, start: int) -> int:
    quote = ""
    index = start + 1
    while index < len(template):
        char = template[index]
        if quote:
            if char == "\\":
                index += 2
                continue
            if char == quote:
                quote = ""
        elif char in ("'", '"'):
            quote = char
        elif char == "}":
            return index
        index += 1
    return -1


@dataclass
class Template:
    source: str
    nodes: list[_Node]

    def render(self, data: Any) -> str:
        return "".join(_render(self.nodes, data, data))

    def values(self, data: Any) -> list[Any]:
        """The values of a single-expression template (used by custom-columns and --sort-by)."""
        results: list[Any] = []
        for node in self.nodes:
            if isinstance(node, _Expr):
                results.extend(_evaluate(node.path, data, data))
        return results


def parse_template(template: str) -> Template:
    root: list[_Node] = []
    stack: list[list[_Node]] = [root]
    for is_action, text in _split_template(template):
        if not is_action:
            stack[-1].append(_Text(text))
            continue
        action = text.strip()
        if action == "end":
            if len(stack) == 1:
                raise JsonPathError("not in range, nothing to end")
            stack.pop()
        elif action.startswith("range ") or action.startswith("range\t"):
            node = _Range(_PathParser(action[6:]).parse())
            stack[-1].append(node)
            stack.append(node.body)
        elif action[:1] in ('"', "'"):
            stack[-1].append(_Text(_unquote(action)))
        elif action == "":
            continue
        else:
            stack[-1].append(_Expr(_PathParser(action).parse()))
    if len(stack) > 1:
        raise JsonPathError("unclosed range")
    return Template(template, root)


def relaxed_template(expression: str) -> str:
    """`.a.b`, `a.b` and `{.a.b}` all mean `{.a.b}` (custom-columns and --sort-by syntax)."""
    text = expression.strip()
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1].strip()
    if not text.startswith((".", "$", "@", "[")):
        text = "." + text
    return "{" + text + "}"


# ---------------------------------------------------------------------- evaluation


def _render(nodes: list[_Node], current: Any, root: Any) -> Iterator[str]:
    for node in nodes:
        if isinstance(node, _Text):
            yield node.text
        elif isinstance(node, _Expr):
            yield " ".join(format_value(v) for v in _evaluate(node.path, current, root))
        else:
            for item in _evaluate(node.path, current, root):
                yield from _render(node.body, item, root)


def _evaluate(path: _Path, current: Any, root: Any) -> list[Any]:
    values = [root if path.from_root else current]
    for step in path.steps:
        values = _apply(step, values, root)
    return values


def _apply(step: _Step, values: list[Any], root: Any) -> list[Any]:
    out: list[Any] = []
    for value in values:
        out.extend(_apply_one(step, value, root))
    return out


def _apply_one(step: _Step, value: Any, root: Any) -> list[Any]:
    if isinstance(step, _Field):
        if isinstance(value, dict) and step.name in value and value[step.name] is not None:
            return [value[step.name]]
        return []
    if isinstance(step, _Keys):
        if isinstance(value, dict):
            return [value[name] for name in step.names if value.get(name) is not None]
        return []
    if isinstance(step, _Wildcard):
        if isinstance(value, dict):
            return [value[key] for key in sorted(value)]
        if isinstance(value, list):
            return list(value)
        return []
    if isinstance(step, _Slice):
        return _slice(step, value)
    if isinstance(step, _Filter):
        if not isinstance(value, list):
            return []
        return [item for item in value if _filter_matches(step, item, root)]
    results: list[Any] = []
    for node in _descendants(value):
        results.extend(_apply_one(step.inner, node, root))
    return results


def _slice(step: _Slice, value: Any) -> list[Any]:
    if not isinstance(value, list):
        return []
    length = len(value)
    if step.single:
        index = step.start or 0
        position = index + length if index < 0 else index
        if not 0 <= position < length:
            raise JsonPathError(f"array index out of bounds: index {index}, length {length}")
        return [value[position]]
    return list(value[slice(step.start, step.end, step.step)])


def _descendants(value: Any) -> Iterator[Any]:
    yield value
    if isinstance(value, dict):
        for key in value:
            yield from _descendants(value[key])
    elif isinstance(value, list):
        for item in value:
            yield from _descendants(item)


def _filter_matches(step: _Filter, item: Any, root: Any) -> bool:
    left = _evaluate(step.left, item, root)
    if step.operator == "exists":
        return bool(left)
    if not left:
        return False
    if step.right is not None:
        right_values = _evaluate(step.right, item, root)
        if not right_values:
            return False
        right = right_values[0]
    else:
        right = step.literal
    return _compare(left[0], step.operator, right)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _compare(left: Any, operator: str, right: Any) -> bool:
    a: Any
    b: Any
    if _is_number(left) and _is_number(right):
        a, b = left, right
    else:
        a, b = format_value(left), format_value(right)
    if operator == "==":
        return bool(a == b)
    if operator == "!=":
        return bool(a != b)
    if operator == "<":
        return bool(a < b)
    if operator == "<=":
        return bool(a <= b)
    if operator == ">":
        return bool(a > b)
    return bool(a >= b)


def format_value(value: Any) -> str:
    """A value as the jsonpath printer writes it: scalars as text, maps and lists as compact JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    return str(value)


def format_go_value(value: Any) -> str:
    """A value as a custom-columns cell shows it: `map[k:v]` for maps, `[a b]` for lists, `<nil>`."""
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{format_go_value(value[k])}" for k in sorted(value)) + "]"
    if isinstance(value, list):
        return "[" + " ".join(format_go_value(v) for v in value) + "]"
    if value is None:
        return "<nil>"
    return format_value(value)
