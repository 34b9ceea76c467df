"""The `-o` output formats: yaml, json, name, jsonpath, custom-columns, and `--sort-by`."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from remedlab.api.kinds import KindInfo
from remedlab.remediate.kubectl.errors import CommandError
from remedlab.remediate.kubectl.fields import JsonObject, name_of
from remedlab.remediate.kubectl.jsonpath import (
    JsonPathError,
    Template,
    format_go_value,
    parse_template,
    relaxed_template,
)
from remedlab.remediate.kubectl.tabwriter import rows_to_table

TABLE_FORMATS = ("", "wide")
_ALLOWED = (
    "custom-columns,custom-columns-file,go-template,go-template-file,json,jsonpath,jsonpath-as-json,"
    "jsonpath-file,name,template,templatefile,wide,yaml"
)


@dataclass(frozen=True)
class OutputFormat:
    name: str
    argument: str = ""

    @property
    def is_table(self) -> bool:
        return self.name in TABLE_FORMATS

    @property
    def is_document(self) -> bool:
        """Formats that print whole objects (or a List of them)."""
        return self.name in ("yaml", "json", "jsonpath", "jsonpath-as-json")


def parse_output_format(raw: str | None) -> OutputFormat:
    text = (raw or "").strip()
    if text in ("", "wide", "yaml", "json", "name"):
        return OutputFormat(text)
    name, _, argument = text.partition("=")
    if name in ("jsonpath", "jsonpath-as-json", "custom-columns"):
        if not argument:
            raise CommandError(f"{name} template format specified but no template given")
        if name != "custom-columns":
            compile_jsonpath(argument)
        else:
            parse_custom_columns(argument)
        return OutputFormat(name, argument)
    if name in ("jsonpath-file", "custom-columns-file"):
        try:
            with open(argument, encoding="utf-8") as handle:
                content = handle.read()
        except OSError as exc:
            raise CommandError(f"error reading template {argument}: {exc.strerror}") from None
        return parse_output_format(f"{name.removesuffix('-file')}={content.strip()}")
    raise CommandError(
        f'unable to match a printer suitable for the output format "{text}", allowed formats are: {_ALLOWED}'
    )


def compile_jsonpath(template: str) -> Template:
    try:
        return parse_template(template)
    except JsonPathError as exc:
        raise CommandError(f"error parsing jsonpath {template}, {exc}") from None


def with_type_fields(obj: JsonObject, info: KindInfo) -> JsonObject:
    """The object with `apiVersion` and `kind` first, added when the server left them out."""
    if obj.get("kind") and obj.get("apiVersion"):
        return obj
    typed: JsonObject = {"apiVersion": info.api_version, "kind": info.kind}
    typed.update({k: v for k, v in obj.items() if k not in typed})
    return typed


def list_document(objects: Sequence[JsonObject]) -> JsonObject:
    return {"apiVersion": "v1", "items": list(objects), "kind": "List", "metadata": {"resourceVersion": ""}}


def render_json(data: Any) -> str:
    return json.dumps(data, indent=4, ensure_ascii=False) + "\n"


def render_yaml(data: Any) -> str:
    from remedlab.remediate.kubectl.yaml_text import dump_yaml

    return dump_yaml(data)


def render_document(output: OutputFormat, data: Any) -> str:
    """yaml, json, jsonpath or jsonpath-as-json of one object or a List."""
    if output.name == "yaml":
        return render_yaml(data)
    if output.name == "json":
        return render_json(data)
    template = compile_jsonpath(output.argument)
    try:
        if output.name == "jsonpath-as-json":
            return json.dumps(template.values(data), indent=4, ensure_ascii=False) + "\n"
        return template.render(data)
    except JsonPathError as exc:
        raise CommandError(
            f'error executing jsonpath "{output.argument}": Error executing template: {exc}. '
            f"Printing more information for debugging the template:\n"
            f"\ttemplate was:\n\t\t{output.argument}\n"
        ) from None


def parse_custom_columns(spec: str) -> list[tuple[str, Template]]:
    columns: list[tuple[str, Template]] = []
    for part in spec.split(","):
        header, sep, expression = part.partition(":")
        if not sep or not header or not expression:
            raise CommandError(f"unexpected custom-columns spec: {part}, expected <header>:<json-path-expr>")
        columns.append((header, compile_jsonpath(relaxed_template(expression))))
    return columns


def render_custom_columns(spec: str, objects: Sequence[JsonObject], no_headers: bool) -> str:
    columns = parse_custom_columns(spec)
    rows: list[list[str]] = [] if no_headers else [[header for header, _ in columns]]
    for obj in objects:
        row = []
        for _, template in columns:
            try:
                values = template.values(obj)
            except JsonPathError:
                values = []
            row.append(",".join(format_go_value(v) for v in values) if values else "<none>")
        rows.append(row)
    return rows_to_table(rows, trailing_tab=True)


def sort_objects(objects: list[JsonObject], sort_by: str) -> list[JsonObject]:
    template = compile_jsonpath(relaxed_template(sort_by))

    def key(obj: JsonObject) -> tuple[int, float, str]:
        try:
            values = template.values(obj)
        except JsonPathError:
            values = []
        if not values:
            return (0, 0.0, "")
        value = values[0]
        if isinstance(value, int | float) and not isinstance(value, bool):
            return (1, float(value), "")
        return (2, 0.0, format_go_value(value))

    return sorted(objects, key=key)


def object_names(info: KindInfo, objects: Sequence[JsonObject]) -> str:
    return "".join(f"{info.qualified}/{name_of(obj)}\n" for obj in objects)
