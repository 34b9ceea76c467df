"""Running a command in a pod through the API's ``exec`` subresource, over WebSocket with the channel
protocol (``v5.channel.k8s.io``, else ``v4``) as kubectl does: stdout, stderr, and the error channel's
Status, which carries the exit code."""

from __future__ import annotations

import asyncio
import json
from urllib.parse import urlencode

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from remedlab.api.errors import error_from_status
from remedlab.api.kinds import BY_KIND, api_path
from remedlab.kube.api_client import KubeApi

PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io")
STDOUT, STDERR, ERROR = 1, 2, 3


def exit_code_of(status: dict[str, object]) -> int:
    """0 for Success; the ExitCode cause of a NonZeroExitCode failure."""
    if status.get("status") == "Success":
        return 0
    details = status.get("details")
    causes = details.get("causes") if isinstance(details, dict) else None
    for cause in causes if isinstance(causes, list) else []:
        if isinstance(cause, dict) and cause.get("reason") == "ExitCode":
            return int(str(cause.get("message") or "1"))
    raise error_from_status(status, int(str(status.get("code") or 500)))


async def exec_in_pod(
    api: KubeApi, namespace: str, name: str, container: str | None, command: list[str], timeout: float
) -> tuple[str, str, int]:
    """(stdout, stderr, exit code) of ``command`` run in the pod, at most ``timeout`` seconds."""
    query: list[tuple[str, str]] = [("command", c) for c in command] + [("stdout", "true"), ("stderr", "true")]
    if container:
        query.append(("container", container))
    path = api_path(BY_KIND["Pod"], namespace, name, "exec")
    url = api.creds.server.replace("https://", "wss://", 1).replace("http://", "ws://", 1)
    url += f"{path}?{urlencode(query)}"
    secure = url.startswith("wss://")
    out: list[bytes] = []
    err: list[bytes] = []
    status: dict[str, object] = {"status": "Success"}

    async def run() -> None:
        nonlocal status
        async with connect(
            url,
            subprotocols=list(PROTOCOLS),  # type: ignore[arg-type]
            ssl=api.ssl if secure else None,
            additional_headers={k: v for k, v in api.headers.items() if k != "Accept"},
            open_timeout=api.timeout,
            max_size=None,
        ) as socket:
            try:
                async for frame in socket:
                    data = frame.encode() if isinstance(frame, str) else frame
                    if not data:
                        continue
                    channel, payload = data[0], data[1:]
                    if channel == STDOUT:
                        out.append(payload)
                    elif channel == STDERR:
                        err.append(payload)
                    elif channel == ERROR and payload:
                        status = json.loads(payload)
            except ConnectionClosed:
                pass

    try:
        await asyncio.wait_for(run(), timeout)
    except InvalidStatus as exc:  # the upgrade was refused: the body is the API's Status
        try:
            refused = json.loads(exc.response.body or b"{}")
        except ValueError:
            refused = {}
        raise error_from_status(refused if isinstance(refused, dict) else {}, exc.response.status_code) from None
    return b"".join(out).decode(errors="replace"), b"".join(err).decode(errors="replace"), exit_code_of(status)
