"""The Kubernetes API's routes: version, discovery, OpenAPI, the REST paths and the streaming WebSockets
(exec, port-forward)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket

from remedlab.api.errors import ClusterError, NotFound
from remedlab.cluster.apiserver import discovery
from remedlab.cluster.apiserver.exec_stream import ExecOpener, serve_exec
from remedlab.cluster.apiserver.log_stream import LogReader, log_response
from remedlab.cluster.apiserver.openapi import openapi_index, published_document
from remedlab.cluster.apiserver.portforward_stream import (
    PortForwardOpener,
    refuse_without_upgrade,
    serve_portforward,
)
from remedlab.cluster.apiserver.responses import error_response, json_response
from remedlab.cluster.apiserver.rest import RestHandler

ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
OPENAPI_V2_PROTOBUF = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
OPENAPI_V2_EMPTY = b"\x0a\x032.0"
"""A protobuf OpenAPI v2 document holding ``swagger: "2.0"`` and nothing else."""

Handler = Callable[[Request], Awaitable[Response]]


def _guarded(handler: Handler) -> Handler:
    async def run(request: Request) -> Response:
        try:
            return await handler(request)
        except ClusterError as exc:
            return error_response(exc)

    return run


def api_routes(
    rest: RestHandler, logs: LogReader, open_exec: ExecOpener, open_port_forward: PortForwardOpener
) -> list[BaseRoute]:
    async def version(_request: Request) -> Response:
        return json_response(discovery.version_info())

    async def core(request: Request) -> Response:
        if discovery.wants_aggregated(request.headers.get("accept", "")):
            return json_response(discovery.aggregated(core=True), media_type=discovery.AGGREGATED_MEDIA_TYPE)
        return json_response(discovery.api_versions(request.url.netloc))

    async def groups(request: Request) -> Response:
        if discovery.wants_aggregated(request.headers.get("accept", "")):
            return json_response(discovery.aggregated(core=False), media_type=discovery.AGGREGATED_MEDIA_TYPE)
        return json_response(discovery.api_group_list())

    async def core_version(request: Request) -> Response:
        found = discovery.api_resource_list(request.path_params["version"])
        if found is None:
            raise NotFound(f"the server could not find the requested resource ({request.url.path})")
        return json_response(found)

    async def group(request: Request) -> Response:
        found = discovery.api_group(request.path_params["group"])
        if found is None:
            raise NotFound(f"the server could not find the requested resource ({request.url.path})")
        return json_response(found)

    async def group_version(request: Request) -> Response:
        gv = f"{request.path_params['group']}/{request.path_params['version']}"
        found = discovery.api_resource_list(gv)
        if found is None:
            raise NotFound(f"the server could not find the requested resource ({request.url.path})")
        return json_response(found)

    async def openapi_v2(_request: Request) -> Response:
        # An OpenAPI v2 document without definitions: clients that fall back to it for a kind the v3
        # documents do not name (an unknown kind) skip client-side checks, and the server answers.
        return Response(OPENAPI_V2_EMPTY, media_type=OPENAPI_V2_PROTOBUF)

    async def openapi_v3(_request: Request) -> Response:
        return json_response(openapi_index())

    async def openapi_v3_document(request: Request) -> Response:
        document = published_document(request.path_params["path"])
        if document is None:
            raise NotFound(f"the server could not find the requested resource ({request.url.path})")
        headers = {"ETag": f'"{document.hash}"'}
        if request.query_params.get("hash") == document.hash:
            headers["Cache-Control"] = "public, immutable"
        return Response(document.body, media_type="application/json", headers=headers)

    async def resource(request: Request) -> Response:
        if request.url.path.endswith("/log") and request.method == "GET":
            info = rest.request_info(request, "GET")
            if info.subresource == "log" and info.namespace and info.name:
                return log_response(logs, info.namespace, info.name, request.query_params)
        if request.url.path.endswith("/portforward"):
            info = rest.request_info(request, request.method)
            if info.subresource == "portforward" and info.namespace and info.name:
                refuse_without_upgrade(request.query_params, info.namespace, info.name, open_port_forward)
        return await rest.handle(request)

    async def pod_exec(websocket: WebSocket) -> None:
        try:
            info = rest.request_info(websocket, "GET")
        except ClusterError as exc:
            await websocket.close(code=1008, reason=exc.message[:120])
            return
        assert info.namespace is not None and info.name is not None
        await serve_exec(websocket, info.namespace, info.name, open_exec)

    async def pod_portforward(websocket: WebSocket) -> None:
        try:
            info = rest.request_info(websocket, "GET")
        except ClusterError as exc:
            await websocket.close(code=1008, reason=exc.message[:120])
            return
        assert info.namespace is not None and info.name is not None
        await serve_portforward(websocket, info.namespace, info.name, open_port_forward)

    async def healthy(_request: Request) -> Response:
        return Response("ok", media_type="text/plain")

    return [
        Route("/version", _guarded(version), methods=["GET"]),
        Route("/livez", healthy, methods=["GET"]),
        Route("/readyz", healthy, methods=["GET"]),
        Route("/openapi/v2", _guarded(openapi_v2), methods=["GET"]),
        Route("/openapi/v3", _guarded(openapi_v3), methods=["GET"]),
        Route("/openapi/v3/{path:path}", _guarded(openapi_v3_document), methods=["GET"]),
        Route("/api", _guarded(core), methods=["GET"]),
        Route("/apis", _guarded(groups), methods=["GET"]),
        WebSocketRoute("/api/v1/namespaces/{namespace}/pods/{name}/exec", pod_exec),
        WebSocketRoute("/api/v1/namespaces/{namespace}/pods/{name}/portforward", pod_portforward),
        Route("/api/{version}", _guarded(core_version), methods=["GET"]),
        Route("/apis/{group}", _guarded(group), methods=["GET"]),
        Route("/apis/{group}/{version}", _guarded(group_version), methods=["GET"]),
        Route("/api/{path:path}", _guarded(resource), methods=ALL_METHODS),
        Route("/apis/{path:path}", _guarded(resource), methods=ALL_METHODS),
    ]
