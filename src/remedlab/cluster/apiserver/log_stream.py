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
from typing import Protocol

from starlette.responses import Response, StreamingResponse

from remedlab.api.pod_log_options import LogOptions

TEXT_PLAIN = {"Content-Type": "text/plain"}


class LogReader(Protocol):
    """What the node offers `pods/log` (the kubelet): raises ClusterErrors with the kubelet's messages."""

    def logs(self, namespace: str, name: str, options: LogOptions) -> str: ...

    def follow_log(self, namespace: str, name: str, options: LogOptions) -> AsyncIterator[bytes]: ...


def log_response(node: LogReader, namespace: str, pod: str, query: Mapping[str, str]) -> Response:
    """The answer to `GET .../pods/{pod}/log`; raises ClusterErrors (the router turns them into Status)."""
    options = LogOptions.parse(pod, query)
    if options.follow and not options.previous:
        lines = node.follow_log(namespace, pod, options)
        return StreamingResponse(_limited(lines, options.limit_bytes), headers=TEXT_PLAIN)
    text = node.logs(namespace, pod, options)
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
