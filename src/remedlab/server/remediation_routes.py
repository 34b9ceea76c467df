"""Agents' actions: probe commands and playbooks, checked, run in a sandbox, and audited."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from remedlab.api.errors import ClusterError
from remedlab.remediate.audit_log import AuditLog
from remedlab.remediate.command_policy import CommandRefused, check_probe
from remedlab.remediate.command_runner import PROBE_TIMEOUT, Sandbox, refused_command, run_checked_probe
from remedlab.remediate.playbook_policy import PlaybookRefused, check_playbook
from remedlab.remediate.playbook_runner import PLAYBOOK_TIMEOUT, refused_playbook, run_checked_playbook
from remedlab.remediate.workspace import WorkspaceError, new_workspace, release
from remedlab.server.auth import scope_of_request
from remedlab.server.cluster_routes import backend_of

router = APIRouter(prefix="/v1/remediation")

MAX_TEXT = 256 * 1024


class ProbeRequest(BaseModel):
    commands: Annotated[str, Field(min_length=1, max_length=MAX_TEXT)]
    timeout_seconds: float = Field(default=PROBE_TIMEOUT, gt=0, le=60, alias="timeoutSeconds")

    model_config = {"populate_by_name": True}


class PlaybookRequest(BaseModel):
    playbook: Annotated[str, Field(min_length=1, max_length=MAX_TEXT)]
    timeout_seconds: float = Field(default=PLAYBOOK_TIMEOUT, gt=0, le=1800, alias="timeoutSeconds")

    model_config = {"populate_by_name": True}


class ActionSettings:
    """What the server knows to run agents' actions: its home, and the agent kubeconfig each action's
    working directory gets a copy of."""

    def __init__(self, home: Path, kubeconfig: Path, renew: Callable[[], None] | None = None) -> None:
        self.home = home
        self.kubeconfig = kubeconfig
        self.renew = renew
        """Renews the kubeconfig's credentials when they run out soon (a ServiceAccount's token)."""
        self.audit = AuditLog(home / "audit" / "actions.jsonl")


def _settings(request: Request) -> ActionSettings:
    settings: ActionSettings | None = getattr(request.app.state, "actions", None)
    if settings is None:
        raise ClusterError("this server does not run agents' actions (no workspace configured)")
    return settings


@contextmanager
def _sandbox(request: Request, timeout: float) -> Iterator[Sandbox]:
    """The working directory of one action that passed its policy, kept while the action runs."""
    settings = _settings(request)
    backend = backend_of(request)
    if settings.renew is not None:
        settings.renew()
    try:
        sandbox = new_workspace(
            settings.home,
            kubeconfig=settings.kubeconfig,
            user=backend.action_user(),
            timeout=timeout,
            hold=True,
            preexec=backend.action_preexec(),
        )
    except WorkspaceError as exc:
        raise ClusterError(str(exc)) from None
    try:
        yield sandbox
    finally:
        release(sandbox.cwd)


def execute_probe(request: Request, commands: str, timeout: float) -> dict[str, Any]:
    """Run a probe string; the answer lists each command's result and the transcript an agent reads.
    A refused probe gets no working directory: nothing of it runs."""
    try:
        checked = check_probe(commands)
    except CommandRefused as exc:
        results = [refused_command(exc)]
    else:
        with _sandbox(request, timeout) as sandbox:
            results = run_checked_probe(checked, sandbox)
    answer = {
        "ok": all(r.ok for r in results),
        "results": [r.to_dict() for r in results],
        "output": "\n".join(f"$ {r.command}\n{r.transcript()}".rstrip() for r in results),
    }
    outcome = {
        "ok": answer["ok"],
        "results": [{k: v for k, v in r.to_dict().items() if k != "stdout"} for r in results],
    }
    _settings(request).audit.record("probe", scope_of_request(request.state), commands, outcome)
    return answer


def execute_playbook(request: Request, playbook: str, timeout: float) -> dict[str, Any]:
    """Run a playbook; the answer is every task's result and the transcript an agent reads. A refused
    playbook gets no working directory: nothing of it runs."""
    try:
        checked = check_playbook(playbook)
    except PlaybookRefused as exc:
        result = refused_playbook(exc)
    else:
        with _sandbox(request, timeout) as sandbox:
            result = run_checked_playbook(checked, sandbox)
    answer = {**result.to_dict(), "output": result.transcript()}
    outcome = {
        "ok": result.ok,
        "refused": result.refused,
        "exitCode": result.exit_code,
        "timedOut": result.timed_out,
        "tasks": [(t.name, t.status, t.rc) for t in result.tasks],
    }
    _settings(request).audit.record("playbook", scope_of_request(request.state), playbook, outcome)
    return answer


@router.post("/probe")
def probe(request: Request, body: ProbeRequest) -> dict[str, Any]:
    return execute_probe(request, body.commands, body.timeout_seconds)


@router.post("/playbook")
def playbook(request: Request, body: PlaybookRequest) -> dict[str, Any]:
    return execute_playbook(request, body.playbook, body.timeout_seconds)
