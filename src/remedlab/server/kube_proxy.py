"""The Kubernetes API of a cluster the server drives through a kubeconfig, passed through on the
server's own port (as `kubectl proxy` does), under the server's tokens and scopes: an agent reads
pods, logs and events here as it does on the embedded cluster, and still may not see chaos objects.
Upgrades (exec, port-forward) are not passed through: agents' commands reach the cluster directly."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from remedlab.api.access import request_attributes
from remedlab.api.errors import BadRequest, ClusterError, Forbidden
from remedlab.kube.api_client import KubeApi
from remedlab.server.auth import ScopePolicy, scope_of_request

PASSED_HEADERS = ("content-type", "accept")
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def kube_proxy_routes(api: KubeApi, policy: ScopePolicy) -> list[BaseRoute]:
    async def forward(request: Request) -> Response:
        scope = scope_of_request(request.state)
        attributes = request_attributes(request.method, request.url.path, request.query_params.get("watch") == "true")
        denial = policy.denial(scope, attributes) if attributes is not None else None
        if denial is not None:
            who = policy.subject(scope)
            forbidden = Forbidden(f'User "{who}" cannot {request.method} {request.url.path}: {denial}')
            return JSONResponse(forbidden.status(), status_code=forbidden.code)
        if request.headers.get("upgrade"):
            error: ClusterError = BadRequest(
                "upgrades (exec, attach, port-forward) are not passed through this server: "
                "use the cluster's kubeconfig for them"
            )
            return JSONResponse(error.status(), status_code=error.code)
        client = api.shared_async_client()  # closed with the backend
        headers = {k: v for k, v in request.headers.items() if k.lower() in PASSED_HEADERS}
        upstream = client.build_request(
            request.method,
            request.url.path,
            params=request.url.query,
            headers=headers,
            content=await request.body(),
        )
        try:
            response = await client.send(upstream, stream=True)
        except httpx.HTTPError as exc:
            error = ClusterError(f"the cluster's API at {api.creds.server} did not answer: {exc}")
            error.code = 503
            return JSONResponse(error.status(), status_code=503)

        async def body() -> AsyncIterator[bytes]:
            async for chunk in response.aiter_raw():
                yield chunk

        kept = {k: v for k, v in response.headers.items() if k.lower() in ("content-type", "warning")}
        return StreamingResponse(
            body(), status_code=response.status_code, headers=kept, background=BackgroundTask(response.aclose)
        )

    return [
        Route("/api", forward, methods=METHODS),
        Route("/api/{rest:path}", forward, methods=METHODS),
        Route("/apis", forward, methods=METHODS),
        Route("/apis/{rest:path}", forward, methods=METHODS),
    ]
