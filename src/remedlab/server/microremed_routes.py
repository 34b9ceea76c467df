"""The MicroRemed client-server protocol (MicroRemed-CS), served unchanged but for the bearer token.

Every call is ``POST /<endpoint>`` with a JSON body. 200 ``{"message": output}``
when the operation succeeded, 500 ``{"message": error}`` when it failed, 400
(a Status with a ``message``) when the body is malformed.

| endpoint | body | scope |
|---|---|---|
| /deploy_env | env_name | admin |
| /inject_failure | failure_type, target_pod, target_namespace | admin |
| /check_status | target_namespace, app_label, failure_type, timeout | admin |
| /stop_injection | failure_type, target_namespace | admin |
| /restore_by_original_manifest | target_namespace, target_pod, manifest_path | admin |
| /execute_playbook | playbook | agent |
| /execute_probe | cmds | agent |

``check_status`` is MicroRemed's own check, with its known weaknesses (it does
not ask whether users' requests succeed): it waits up to ``timeout`` seconds
for the target's pods to be Ready, then, for CPU and memory faults, requires
usage below half the limit, and for network faults, answers within 1000 ms
through the target's Services (three tries). remedlab's oracle judges
episodes; this endpoint is for MicroRemed-CS clients.
"""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from remedlab.api.errors import ClusterError
from remedlab.api.quantity import cpu_millicores, memory_bytes
from remedlab.apps.catalog import UnknownApp, get_app
from remedlab.chaos.catalog import load_catalog
from remedlab.server.app_routes import app_of_namespace, apply_app
from remedlab.server.chaos_routes import InjectRequest, chaos_objects, inject_fault, stop_fault
from remedlab.server.cluster_routes import backend_of
from remedlab.server.remediation_routes import execute_playbook as run_playbook_action
from remedlab.server.remediation_routes import execute_probe as run_probe_action

router = APIRouter()

READY_WAIT_DEFAULT = 120.0
NETWORK_RTT_LIMIT = 1.0
USAGE_SHARE_LIMIT = 0.5


class DeployEnv(BaseModel):
    env_name: str


class InjectFailure(BaseModel):
    failure_type: str
    target_pod: str
    target_namespace: str


class CheckStatus(BaseModel):
    target_namespace: str
    app_label: str
    failure_type: str = ""
    timeout: float = Field(default=0, ge=0, le=3600)


class StopInjection(BaseModel):
    failure_type: str
    target_namespace: str


class RestoreManifest(BaseModel):
    target_namespace: str
    target_pod: str = ""
    manifest_path: str = ""


class ExecutePlaybook(BaseModel):
    playbook: str = Field(min_length=1, max_length=256 * 1024)


class ExecuteProbe(BaseModel):
    cmds: str = Field(min_length=1, max_length=256 * 1024)


def _message(value: Any, status: int = 200) -> JSONResponse:
    return JSONResponse({"message": value}, status_code=status)


@router.post("/deploy_env")
async def deploy_env(request: Request, body: DeployEnv) -> JSONResponse:
    try:
        app = get_app(body.env_name)
    except UnknownApp as exc:
        return _message(str(exc), 500)
    backend = backend_of(request)
    try:
        apply_app(request, app, app.namespace)
        ready = await backend.wait_namespace_ready(app.namespace, READY_WAIT_DEFAULT)
    except ClusterError as exc:
        return _message(exc.message, 500)
    if not ready:
        return _message(f"{app.name} deployed in {app.namespace} but not all pods are Ready", 500)
    return _message(f"{app.name} is deployed and Ready in namespace {app.namespace}")


@router.post("/inject_failure")
async def inject_failure(request: Request, body: InjectFailure) -> JSONResponse:
    if body.failure_type not in load_catalog():
        known = ", ".join(sorted(load_catalog()))
        return _message(f"unknown failure_type {body.failure_type!r}: use one of {known}", 500)
    try:
        injected = await inject_fault(
            request, InjectRequest(fault=body.failure_type, target=body.target_pod, namespace=body.target_namespace)
        )
    except ClusterError as exc:
        return _message(exc.message, 500)
    confirmed = injected.get("confirm") or {}
    if not confirmed.get("injected"):
        return _message(
            f"{body.failure_type} on {body.target_pod} failed: {confirmed.get('detail', 'not injected')}", 500
        )
    return _message(f"{body.failure_type} injected into {body.target_pod} ({injected['metadata']['name']})")


@router.post("/stop_injection")
async def stop_injection(request: Request, body: StopInjection) -> JSONResponse:
    try:
        found = chaos_objects(backend_of(request), body.target_namespace, body.failure_type)
        for obj in found:
            await stop_fault(request, obj)
    except ClusterError as exc:
        return _message(exc.message, 500)
    names = ", ".join(o["metadata"]["name"] for o in found) or "none was active"
    return _message(f"stopped {body.failure_type} in {body.target_namespace}: {names}")


@router.post("/restore_by_original_manifest")
async def restore_by_original_manifest(request: Request, body: RestoreManifest) -> JSONResponse:
    backend = backend_of(request)
    try:
        app = get_app(app_of_namespace(backend_of(request), body.target_namespace))
        apply_app(request, app, body.target_namespace)
        ready = await backend.wait_namespace_ready(body.target_namespace, READY_WAIT_DEFAULT)
    except (ClusterError, UnknownApp) as exc:
        return _message(str(exc), 500)
    if not ready:
        return _message(f"{app.name}'s original manifests applied, but not all pods are Ready", 500)
    return _message(f"{app.name}'s original manifests applied in {body.target_namespace}; all pods Ready")


def _answer_seconds(host: str, port: int) -> float | None:
    """Seconds until a Service answers a request's first bytes (any answer, even an error), or None."""
    started = time.monotonic()
    try:
        with socket.create_connection((host, port), timeout=NETWORK_RTT_LIMIT * 2) as sock:
            sock.settimeout(NETWORK_RTT_LIMIT * 2)
            sock.sendall(b"GET / HTTP/1.0\r\n\r\n")
            sock.recv(1)
            return time.monotonic() - started
    except OSError:
        return None


def _services_of(request: Request, namespace: str, labels: dict[str, str]) -> list[tuple[str, int]]:
    """(name, first port) of the Services with a cluster IP whose selector picks pods with ``labels``."""
    found = []
    for svc in backend_of(request).list_objects("services", namespace):
        selector = svc["spec"].get("selector") or {}
        ip, ports = svc["spec"].get("clusterIP"), svc["spec"].get("ports") or []
        if selector and ip and ip != "None" and ports and all(labels.get(k) == v for k, v in selector.items()):
            found.append((str(svc["metadata"]["name"]), int(ports[0]["port"])))
    return found


@router.post("/check_status")
async def check_status(request: Request, body: CheckStatus) -> JSONResponse:
    backend = backend_of(request)
    selector = f"app={body.app_label}"
    deadline = time.monotonic() + body.timeout
    while True:
        pods = backend.list_objects("pods", body.target_namespace, selector)
        ready = pods and all(
            any(c["type"] == "Ready" and c["status"] == "True" for c in p.get("status", {}).get("conditions") or [])
            for p in pods
        )
        if ready or time.monotonic() >= deadline:
            break
        await asyncio.sleep(1.0)
    if not ready:
        return _message(False)
    problems: list[str] = []
    kind = body.failure_type
    if kind in ("cpu-stress", "memory-stress"):
        for usage in backend.top_pods(body.target_namespace, selector):
            pod = next(p for p in pods if p["metadata"]["name"] == usage["name"])
            limits = (pod["spec"]["containers"][0].get("resources") or {}).get("limits") or {}
            cpu, memory = limits.get("cpu"), limits.get("memory")
            cpu_share = usage["cpuMillicores"] / cpu_millicores(cpu) if cpu else 0.0
            memory_share = usage["memoryBytes"] / memory_bytes(memory) if memory else 0.0
            if kind == "cpu-stress" and cpu_share >= USAGE_SHARE_LIMIT:
                problems.append(f"{usage['name']} uses {usage['cpuMillicores']}m of {cpu} CPU")
            if kind == "memory-stress" and memory_share >= USAGE_SHARE_LIMIT:
                problems.append(f"{usage['name']} uses {usage['memoryBytes']} bytes of {memory}")
    elif kind in ("network-delay", "network-loss"):
        # through the target's Services, so that the pods' network faults apply as to any client (where
        # the server reaches Services through port-forward tunnels, a fault on the pods' own interfaces
        # does not slow the tunnel's connections: see docs/kubernetes.md)
        labels = dict(pods[0]["metadata"].get("labels") or {})
        for name, service_port in _services_of(request, body.target_namespace, labels):
            host, port = await backend.service_address(body.target_namespace, name, service_port)
            seconds = [await asyncio.to_thread(_answer_seconds, host, port) for _ in range(3)]
            if any(s is None or s > NETWORK_RTT_LIMIT for s in seconds):
                problems.append(f"{name}:{service_port} slow or unreachable")
    return _message(not problems)


@router.post("/execute_playbook")
def execute_playbook(request: Request, body: ExecutePlaybook) -> JSONResponse:
    result = run_playbook_action(request, body.playbook, 300.0)
    return _message(result["output"], 200 if result["ok"] else 500)


@router.post("/execute_probe")
def execute_probe(request: Request, body: ExecuteProbe) -> JSONResponse:
    result = run_probe_action(request, body.cmds, 10.0)
    return _message(result["output"], 200 if result["ok"] else 500)
