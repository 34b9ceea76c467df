"""Request mixes: which requests the workload generator sends to an app, and how often.

A mix is data. Each app may ship one in `remedlab/apps/<app folder>/workload.yaml`:

    service: hello-service
    port: 5000
    requests:
      - {name: hello, method: GET, path: /hello, weight: 1}

`name`, `weight` (default 1), `body`, `headers` and `expect_status` (default [200])
are optional. Paths and the string values of bodies may hold placeholders that are
filled for every request from the generator's seeded random generator:

    {rand_int:A:B}            an integer in [A, B]; {rand_int:A:B:W} pads it with zeros to W digits
    {rand_float:A:B:D}        a number in [A, B] with D decimals (D defaults to 2)
    {rand_str:N}              N letters and digits (a random text, as wrk2's scripts make)
    {choice:x|y|z}            one of the listed words
    {var:NAME}                the value of the request's variable NAME

A request's `vars` map names to templates rendered once per request, before
its path, body and headers, so that one drawn value can appear twice (a user
name and the password that goes with it):

    - name: login
      vars: {user: "{rand_int:1:500}"}
      path: /user?username=Cornell_{var:user}&password={var:user}

Nothing else is evaluated: any other brace in a template is an error when the mix loads.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from remedlab.apps.catalog import AppInfo

__all__ = [
    "Mix",
    "MixError",
    "PathTemplate",
    "RenderedRequest",
    "RequestSpec",
    "TemplateError",
    "app_workload_file",
    "load_app_mix",
    "load_mix_file",
    "parse_mix",
]

WORKLOAD_FILE = "workload.yaml"
REQUESTS_KIND = "requests"
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
MAX_FLOAT_DECIMALS = 12


class MixError(ValueError):
    """A request mix (or its file) is malformed."""


class TemplateError(MixError):
    """A path or body template holds a malformed or unknown placeholder."""


# --------------------------------------------------------------------------- templates


@dataclass(frozen=True)
class _RandInt:
    low: int
    high: int
    width: int

    def render(self, rng: random.Random) -> str:
        return str(rng.randint(self.low, self.high)).zfill(self.width)


@dataclass(frozen=True)
class _RandFloat:
    low: float
    high: float
    decimals: int

    def render(self, rng: random.Random) -> str:
        return f"{rng.uniform(self.low, self.high):.{self.decimals}f}"


@dataclass(frozen=True)
class _RandStr:
    length: int

    def render(self, rng: random.Random) -> str:
        return "".join(rng.choices(_LETTERS_AND_DIGITS, k=self.length))


@dataclass(frozen=True)
class _Choice:
    options: tuple[str, ...]

    def render(self, rng: random.Random) -> str:
        return rng.choice(self.options)


@dataclass(frozen=True)
class _Var:
    name: str


_Placeholder = _RandInt | _RandFloat | _RandStr | _Choice | _Var
_LETTERS_AND_DIGITS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
MAX_STR_LENGTH = 4096
_VAR_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PLACEHOLDER_RE = re.compile(r"\{([a-z_]+):([^{}]*)\}")


def _int_arg(text: str, placeholder: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise TemplateError(f"{placeholder}: {text!r} is not an integer") from None


def _float_arg(text: str, placeholder: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise TemplateError(f"{placeholder}: {text!r} is not a number") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise TemplateError(f"{placeholder}: {text!r} is not a finite number")
    return value


def _parse_placeholder(kind: str, args: str, source: str) -> _Placeholder:
    placeholder = "{" + kind + ":" + args + "}"
    parts = args.split(":")
    if kind == "rand_int":
        if len(parts) not in (2, 3):
            raise TemplateError(f"{placeholder} in {source!r}: expected {{rand_int:A:B}} or {{rand_int:A:B:WIDTH}}")
        low, high = _int_arg(parts[0], placeholder), _int_arg(parts[1], placeholder)
        width = _int_arg(parts[2], placeholder) if len(parts) == 3 else 0
        if low > high or not 0 <= width <= 32:
            raise TemplateError(f"{placeholder} in {source!r}: needs A <= B and 0 <= WIDTH <= 32")
        return _RandInt(low, high, width)
    if kind == "rand_float":
        if len(parts) not in (2, 3):
            raise TemplateError(
                f"{placeholder} in {source!r}: expected {{rand_float:A:B}} or {{rand_float:A:B:DECIMALS}}"
            )
        low_f, high_f = _float_arg(parts[0], placeholder), _float_arg(parts[1], placeholder)
        decimals = _int_arg(parts[2], placeholder) if len(parts) == 3 else 2
        if low_f > high_f or not 0 <= decimals <= MAX_FLOAT_DECIMALS:
            raise TemplateError(f"{placeholder} in {source!r}: needs A <= B and 0 <= DECIMALS <= {MAX_FLOAT_DECIMALS}")
        return _RandFloat(low_f, high_f, decimals)
    if kind == "rand_str":
        length = _int_arg(args, placeholder)
        if not 1 <= length <= MAX_STR_LENGTH:
            raise TemplateError(f"{placeholder} in {source!r}: needs 1 <= N <= {MAX_STR_LENGTH}")
        return _RandStr(length)
    if kind == "choice":
        options = tuple(args.split("|"))
        if not all(options):
            raise TemplateError(f"{placeholder} in {source!r}: expected {{choice:x|y|z}} with no empty option")
        return _Choice(options)
    if kind == "var":
        if not _VAR_NAME_RE.match(args):
            raise TemplateError(f"{placeholder} in {source!r}: expected {{var:NAME}} with NAME a variable name")
        return _Var(args)
    kinds = "rand_int, rand_float, rand_str, choice or var"
    raise TemplateError(f"unknown placeholder {placeholder} in {source!r}: use {kinds}")


class PathTemplate:
    """A string with placeholders, parsed once and rendered per request."""

    __slots__ = ("_parts", "source")

    def __init__(self, source: str) -> None:
        self.source = source
        parts: list[str | _Placeholder] = []
        position = 0
        for match in _PLACEHOLDER_RE.finditer(source):
            literal = source[position : match.start()]
            self._check_literal(literal)
            if literal:
                parts.append(literal)
            parts.append(_parse_placeholder(match.group(1), match.group(2), source))
            position = match.end()
        tail = source[position:]
        self._check_literal(tail)
        if tail:
            parts.append(tail)
        self._parts = tuple(parts)

    def _check_literal(self, literal: str) -> None:
        if "{" in literal or "}" in literal:
            raise TemplateError(f"malformed placeholder in {self.source!r}: expected {{kind:arguments}}")

    @property
    def is_constant(self) -> bool:
        return all(isinstance(part, str) for part in self._parts)

    @property
    def variables(self) -> frozenset[str]:
        """The names of the variables the template refers to."""
        return frozenset(part.name for part in self._parts if isinstance(part, _Var))

    def render(self, rng: random.Random, values: Mapping[str, str] | None = None) -> str:
        out: list[str] = []
        for part in self._parts:
            if isinstance(part, str):
                out.append(part)
            elif isinstance(part, _Var):
                out.append((values or {})[part.name])
            else:
                out.append(part.render(rng))
        return "".join(out)

    def __repr__(self) -> str:
        return f"PathTemplate({self.source!r})"


def _compile_body(body: Any, templates: dict[str, PathTemplate]) -> None:
    """Parse every string in a body once, so that errors show when the mix loads."""
    if isinstance(body, str):
        if body not in templates:
            templates[body] = PathTemplate(body)
    elif isinstance(body, Mapping):
        for value in body.values():
            _compile_body(value, templates)
    elif isinstance(body, list | tuple):
        for value in body:
            _compile_body(value, templates)


def _render_body(
    body: Any, templates: Mapping[str, PathTemplate], rng: random.Random, values: Mapping[str, str]
) -> Any:
    if isinstance(body, str):
        return templates[body].render(rng, values)
    if isinstance(body, Mapping):
        return {key: _render_body(value, templates, rng, values) for key, value in body.items()}
    if isinstance(body, list | tuple):
        return [_render_body(value, templates, rng, values) for value in body]
    return body


# --------------------------------------------------------------------------- requests and mixes


@dataclass(frozen=True)
class RenderedRequest:
    """One concrete request, its placeholders filled."""

    name: str
    method: str
    path: str
    body: Any = None
    headers: Mapping[str, str] | None = None
    expect_status: tuple[int, ...] = (200,)


@dataclass(frozen=True)
class RequestSpec:
    """One kind of request in a mix. `path` (and strings in `body`) may hold placeholders."""

    method: str
    path: str
    weight: float = 1.0
    body: Any = None
    headers: Mapping[str, str] | None = None
    expect_status: tuple[int, ...] = (200,)
    name: str = ""
    vars: Mapping[str, str] | None = None
    _path: PathTemplate = field(init=False, repr=False, compare=False)
    _body: dict[str, PathTemplate] = field(init=False, repr=False, compare=False)
    _headers: dict[str, PathTemplate] = field(init=False, repr=False, compare=False)
    _vars: dict[str, PathTemplate] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        method = self.method.upper()
        if method not in HTTP_METHODS:
            raise MixError(f"request {self.label}: unsupported method {self.method!r}")
        if not self.path.startswith("/"):
            raise MixError(f"request {self.label}: the path must start with '/', not {self.path!r}")
        if not (self.weight > 0 and self.weight != float("inf")):
            raise MixError(f"request {self.label}: the weight must be a positive number, not {self.weight!r}")
        if not self.expect_status or not all(100 <= code <= 599 for code in self.expect_status):
            raise MixError(f"request {self.label}: expect_status must list HTTP codes, not {self.expect_status!r}")
        body_templates: dict[str, PathTemplate] = {}
        _compile_body(self.body, body_templates)
        variables: dict[str, PathTemplate] = {}
        for var, template in (self.vars or {}).items():
            if not _VAR_NAME_RE.match(var):
                raise MixError(f"request {self.label}: {var!r} is not a variable name")
            variables[var] = PathTemplate(template)
            if variables[var].variables:
                raise MixError(f"request {self.label}: variable {var!r} may not refer to other variables")
        path = PathTemplate(self.path)
        headers = {k: PathTemplate(v) for k, v in (self.headers or {}).items()}
        used = set(path.variables).union(*(t.variables for t in (*body_templates.values(), *headers.values())))
        undefined = sorted(used - set(variables))
        if undefined:
            raise MixError(f"request {self.label}: {{var:{undefined[0]}}} is used but not defined under vars")
        object.__setattr__(self, "method", method)
        object.__setattr__(self, "expect_status", tuple(self.expect_status))
        object.__setattr__(self, "_path", path)
        object.__setattr__(self, "_body", body_templates)
        object.__setattr__(self, "_headers", headers)
        object.__setattr__(self, "_vars", variables)

    @property
    def label(self) -> str:
        return self.name or f"{self.method} {self.path}"

    def render(self, rng: random.Random) -> RenderedRequest:
        values = {var: template.render(rng) for var, template in self._vars.items()}
        headers = self.headers
        if self._headers and not all(t.is_constant for t in self._headers.values()):
            headers = {k: t.render(rng, values) for k, t in self._headers.items()}
        return RenderedRequest(
            name=self.label,
            method=self.method,
            path=self._path.render(rng, values),
            body=_render_body(self.body, self._body, rng, values) if self.body is not None else None,
            headers=headers,
            expect_status=self.expect_status,
        )


@dataclass(frozen=True)
class Mix:
    """Weighted request kinds, and the Service (name and port) they go to."""

    requests: tuple[RequestSpec, ...]
    service: str | None = None
    port: int | None = None
    _cumulative: tuple[float, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        requests = tuple(self.requests)
        if not requests:
            raise MixError("a mix needs at least one request")
        if self.port is not None and not 1 <= self.port <= 65535:
            raise MixError(f"port {self.port} is not a TCP port")
        total = 0.0
        cumulative = []
        for spec in requests:
            total += spec.weight
            cumulative.append(total)
        object.__setattr__(self, "requests", requests)
        object.__setattr__(self, "_cumulative", tuple(cumulative))

    def pick(self, rng: random.Random) -> RequestSpec:
        if len(self.requests) == 1:
            return self.requests[0]
        return rng.choices(self.requests, cum_weights=self._cumulative)[0]

    def next_request(self, rng: random.Random) -> RenderedRequest:
        return self.pick(rng).render(rng)

    def shares(self) -> dict[str, float]:
        """Each request kind's expected share of the traffic."""
        total = self._cumulative[-1]
        return {spec.label: spec.weight / total for spec in self.requests}


# --------------------------------------------------------------------------- loading


def _status_codes(value: Any, where: str) -> tuple[int, ...]:
    values = value if isinstance(value, list | tuple) else [value]
    codes: list[int] = []
    for item in values:
        if isinstance(item, bool) or not isinstance(item, int):
            raise MixError(f"{where}: expect_status must be a status code or a list of them, not {value!r}")
        codes.append(item)
    return tuple(codes)


def _request_spec(raw: Any, index: int, source: str) -> RequestSpec:
    where = f"{source}: requests[{index}]"
    if not isinstance(raw, Mapping):
        raise MixError(f"{where} must be a mapping")
    unknown = set(raw) - {"name", "method", "path", "weight", "body", "headers", "expect_status", "vars"}
    if unknown:
        raise MixError(f"{where}: unknown field(s) {', '.join(sorted(map(str, unknown)))}")
    path = raw.get("path")
    if not isinstance(path, str):
        raise MixError(f"{where}: path must be a string")
    method = raw.get("method", "GET")
    if not isinstance(method, str):
        raise MixError(f"{where}: method must be a string")
    weight = raw.get("weight", 1)
    if isinstance(weight, bool) or not isinstance(weight, int | float):
        raise MixError(f"{where}: weight must be a number")
    headers = raw.get("headers")
    if headers is not None and (
        not isinstance(headers, Mapping) or not all(isinstance(v, str | int) for v in headers.values())
    ):
        raise MixError(f"{where}: headers must map names to strings")
    variables = raw.get("vars")
    if variables is not None and (
        not isinstance(variables, Mapping) or not all(isinstance(v, str | int) for v in variables.values())
    ):
        raise MixError(f"{where}: vars must map names to templates")
    try:
        return RequestSpec(
            method=method,
            path=path,
            weight=float(weight),
            body=raw.get("body"),
            headers={str(k): str(v) for k, v in headers.items()} if headers is not None else None,
            expect_status=_status_codes(raw.get("expect_status", [200]), where),
            name=str(raw.get("name") or ""),
            vars={str(k): str(v) for k, v in variables.items()} if variables is not None else None,
        )
    except MixError as exc:
        raise MixError(f"{source}: {exc}") from None


def parse_mix(data: Any, source: str = "mix") -> Mix:
    """A Mix from the parsed contents of a workload file."""
    if not isinstance(data, Mapping):
        raise MixError(f"{source}: expected a mapping with service, port and requests")
    requests = data.get("requests")
    if not isinstance(requests, list) or not requests:
        raise MixError(f"{source}: requests must be a non-empty list")
    service = data.get("service")
    if service is not None and not isinstance(service, str):
        raise MixError(f"{source}: service must be a string")
    port = data.get("port")
    if port is not None and (isinstance(port, bool) or not isinstance(port, int)):
        raise MixError(f"{source}: port must be an integer")
    return Mix(
        requests=tuple(_request_spec(raw, i, source) for i, raw in enumerate(requests)),
        service=service,
        port=port,
    )


def load_mix_file(path: Path) -> Mix:
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise MixError(f"cannot read {path}: {exc}") from None
    return parse_mix(data, str(path))


def app_workload_file(app: AppInfo) -> Mapping[str, Any] | None:
    """The parsed workload.yaml the app ships, or None when it ships none."""
    folder = resources.files("remedlab.apps").joinpath(app.manifests.split("/")[0])
    workload = folder.joinpath(WORKLOAD_FILE)
    if not workload.is_file():
        return None
    try:
        data = yaml.safe_load(workload.read_text())
    except yaml.YAMLError as exc:
        raise MixError(f"cannot parse the workload of {app.name}: {exc}") from None
    if not isinstance(data, Mapping):
        raise MixError(f"{app.name}/{WORKLOAD_FILE}: expected a mapping")
    return data


def load_app_mix(app: AppInfo) -> Mix:
    """The app's workload.yaml, or else a single GET of the catalog's entry path."""
    data = app_workload_file(app)
    if data is not None:
        kind = data.get("kind", REQUESTS_KIND)
        if kind != REQUESTS_KIND:
            raise MixError(f"{app.name}'s workload is its {kind}, followed by the server, not requests to send")
        mix = parse_mix({k: v for k, v in data.items() if k != "kind"}, f"{app.name}/{WORKLOAD_FILE}")
        if mix.service is None or mix.port is None:
            entry = app.entry
            mix = Mix(
                requests=mix.requests,
                service=mix.service or _entry_str(entry, "service", app.name),
                port=mix.port if mix.port is not None else _entry_port(entry, app.name),
            )
        return mix
    entry = app.entry
    path = entry.get("path") or "/"
    return Mix(
        requests=(RequestSpec("GET", str(path), name="entry"),),
        service=_entry_str(entry, "service", app.name),
        port=_entry_port(entry, app.name),
    )


def _entry_str(entry: Mapping[str, Any], key: str, app: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value:
        raise MixError(f"{app} has no workload file and its catalog entry names no {key}")
    return value


def _entry_port(entry: Mapping[str, Any], app: str) -> int:
    value = entry.get("port")
    if isinstance(value, bool) or not isinstance(value, int):
        raise MixError(f"{app} has no workload file and its catalog entry names no port")
    return value
