"""`pods/log`: a container's log as `text/plain`, whole or followed as it grows.

The query is kube-apiserver's PodLogOptions: `container`, `previous`, `tailLines`,
`sinceSeconds` or `sinceTime` (RFC 3339), `timestamps`, `limitBytes` and `follow`. Options are
checked as kube-apiserver checks them (422 Invalid for a negative tail, a zero limit, both kinds
of since...); the node answers the rest (which container, whether it has logged anything yet)
with the kubelet's messages, raised as ClusterErrors before anything is streamed.

With `follow=true` the answer streams each new line until the container instance ends, the pod is
deleted or the client disconnects (which closes the node's iterator). `limitBytes` cuts the
answer, streamed or not, after that many bytes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from starlette.responses import Response, StreamingResponse

from remedlab.api.errors import BadRequest, Invalid
from remedlab.api.times import parse_time

TEXT_PLAIN = {"Content-Type": "text/plain"}


class LogReader(Protocol):
    """What the node offers `pods/log` (the kubelet): raises ClusterErrors with the kubelet's messages."""

    def logs(
        self,
        namespace: str,
        name: str,
        container: str | None = None,
        previous: bool = False,
        tail: int | None = None,
        since_seconds: float | None = None,
        timestamps: bool = False,
    ) -> str: ...

    def follow_log(
        self,
        namespace: str,
        name: str,
        container: str | None = None,
        tail: int | None = None,
        since_seconds: float | None = None,
        timestamps: bool = False,
    ) -> AsyncIterator[bytes]: ...


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


def log_response(node: LogReader, namespace: str, pod: str, query: Mapping[str, str]) -> Response:
    """The answer to `GET .../pods/{pod}/log`; raises ClusterErrors (the router turns them into Status)."""
    options = LogOptions.parse(pod, query)
    if options.follow and not options.previous:
        lines = node.follow_log(
            namespace, pod, options.container, options.tail_lines, options.since_seconds, options.timestamps
        )
        return StreamingResponse(_limited(lines, options.limit_bytes), headers=TEXT_PLAIN)
    text = node.logs(
        namespace,
        pod,
        options.container,
        options.previous,
        options.tail_lines,
        options.since_seconds,
        options.timestamps,
    )
    body = text.encode()
    if options.limit_bytes is not None:
        body = body[: options.limit_bytes]
    return Response(body, headers=TEXT_PLAIN)


async def _limited(chunks: AsyncIterator[bytes], limit: int | None) -> AsyncIterator[bytes]:
    """`chunks` up to `limit` bytes in all; the source is closed however the stream ends."""
    left = limit
    try:
        async for chunk in chunks:
            if left is not None:
                chunk = chunk[:left]
                left -= len(chunk)
            if chunk:
                yield chunk
            if left == 0:
                return
    finally:
        closing = getattr(chunks, "aclose", None)
        if closing is not None:
            await closing()


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
