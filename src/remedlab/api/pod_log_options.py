"""What a `pods/log` request asks for (core/v1 PodLogOptions), read from its query and checked as
kube-apiserver checks it: 422 Invalid for a negative tail, a zero limit, both kinds of since; 400 for
what does not parse."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from remedlab.api.errors import BadRequest, Invalid
from remedlab.api.times import parse_time


@dataclass(frozen=True)
class LogOptions:
    """A `pods/log` query (core/v1 PodLogOptions), checked."""

    container: str | None = None
    previous: bool = False
    follow: bool = False
    timestamps: bool = False
    tail_lines: int | None = None
    since_seconds: float | None = None
    limit_bytes: int | None = None

    def query(self) -> dict[str, str]:
        """The options as a `pods/log` query (the inverse of ``parse``)."""
        values: dict[str, str | int | bool | float | None] = {
            "container": self.container,
            "previous": self.previous or None,
            "follow": self.follow or None,
            "timestamps": self.timestamps or None,
            "tailLines": self.tail_lines,
            "sinceSeconds": max(1, int(self.since_seconds)) if self.since_seconds is not None else None,
            "limitBytes": self.limit_bytes,
        }
        return {k: ("true" if v is True else str(v)) for k, v in values.items() if v is not None}

    @classmethod
    def parse(cls, pod: str, query: Mapping[str, str]) -> LogOptions:
        """Read and validate the query; BadRequest for what does not parse, Invalid for what is out of range."""
        tail = _integer(query, "tailLines")
        limit = _integer(query, "limitBytes")
        since = _integer(query, "sinceSeconds")
        since_time = query.get("sinceTime")
        causes: list[dict[str, Any]] = []
        if tail is not None and tail < 0:
            causes.append(_invalid("tailLines", tail, "must be greater than or equal to 0"))
        if limit is not None and limit < 1:
            causes.append(_invalid("limitBytes", limit, "must be greater than 0"))
        if since is not None and since_time:
            causes.append(
                {
                    "reason": "FieldValueForbidden",
                    "message": "Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified",
                    "field": "",
                }
            )
        elif since is not None and since < 1:
            causes.append(_invalid("sinceSeconds", since, "must be greater than 0"))
        if causes:
            messages = [f"{c['field']}: {c['message']}" if c["field"] else c["message"] for c in causes]
            summary = messages[0] if len(messages) == 1 else f"[{', '.join(messages)}]"
            raise Invalid(
                f'PodLogOptions "{pod}" is invalid: {summary}',
                {"name": pod, "kind": "PodLogOptions", "causes": causes},
            )
        since_seconds: float | None = since
        if since_time:
            moment = parse_time(since_time)
            if moment is None or moment.tzinfo is None:
                raise BadRequest(
                    f'parsing time "{since_time}" as RFC 3339: sinceTime must be like 2006-01-02T15:04:05Z'
                )
            since_seconds = (datetime.now(UTC) - moment).total_seconds()
        return cls(
            container=query.get("container") or None,
            previous=_flag(query, "previous"),
            follow=_flag(query, "follow"),
            timestamps=_flag(query, "timestamps"),
            tail_lines=tail,
            since_seconds=since_seconds,
            limit_bytes=limit,
        )


def _flag(query: Mapping[str, str], name: str) -> bool:
    """A query flag as kube-apiserver reads one: absent, `0` or `false` (any case) is off, anything else on."""
    value = query.get(name)
    return value is not None and value != "0" and value.lower() != "false"


def _integer(query: Mapping[str, str], name: str) -> int | None:
    value = query.get(name)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise BadRequest(f'invalid value for {name}: "{value}": must be an integer') from None


def _invalid(field: str, value: int, detail: str) -> dict[str, Any]:
    return {"reason": "FieldValueInvalid", "message": f"Invalid value: {value}: {detail}", "field": field}
