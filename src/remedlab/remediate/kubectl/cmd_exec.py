"""`kubectl exec`."""

from __future__ import annotations

import select
import sys

from remedlab.api.kinds import BY_PLURAL
from remedlab.remediate.kubectl.client import object_path
from remedlab.remediate.kubectl.context import CommandContext
from remedlab.remediate.kubectl.errors import CommandError
from remedlab.remediate.kubectl.fields import get_dicts, get_str, name_of
from remedlab.remediate.kubectl.flags import ParsedArgs
from remedlab.remediate.kubectl.pod_selection import default_container, resolve_pod

EXEC_TIMEOUT_SECONDS = 30
STDIN_WAIT_SECONDS = 0.2


def _piped_stdin() -> str | None:
    """Input piped into the command, if some is ready; never waits on an idle terminal or pipe."""
    try:
        if sys.stdin is None or sys.stdin.isatty():
            return None
        ready, _, _ = select.select([sys.stdin], [], [], STDIN_WAIT_SECONDS)
        return sys.stdin.read() if ready else None
    except (OSError, ValueError):
        return None


def run(ctx: CommandContext, args: ParsedArgs) -> int:
    if not args.positionals:
        raise CommandError("pod, type/name or --filename must be specified")
    if len(args.positionals) > 1:
        raise CommandError("exec [POD] [COMMAND] is not supported anymore. Use exec [POD] -- [COMMAND] instead")
    command = args.after_dash or []
    if not command:
        raise CommandError("you must specify at least one command for the container")
    pod = resolve_pod(ctx, args.positionals[0])
    container = args.value("container")
    names = [get_str(c, "name") for c in get_dicts(pod, "spec", "containers")]
    if container and names and container not in names:
        raise CommandError(f"container {container} not found in pod {name_of(pod)}")
    if not container:
        container = default_container(ctx, pod, quiet=args.flag("quiet"))
    # `-it` is what people type out of habit: only `-i` alone forwards piped input.
    stdin_text = _piped_stdin() if args.flag("stdin") and not args.flag("tty") else None
    namespace = get_str(pod, "metadata", "namespace") or ctx.namespace
    body = {
        "command": command,
        "container": container,
        "timeoutSeconds": EXEC_TIMEOUT_SECONDS,
        "stdin": stdin_text,
    }
    answer = ctx.client.request(
        "POST",
        object_path(BY_PLURAL["pods"], namespace, name_of(pod)) + "/exec",
        body=body,
        timeout=max(ctx.client.timeout, EXEC_TIMEOUT_SECONDS + 15),
    )
    if not isinstance(answer, dict):
        raise CommandError("unexpected answer from the server to exec")
    ctx.write(str(answer.get("stdout") or ""))
    ctx.err.write(str(answer.get("stderr") or ""))
    exit_code = answer.get("exitCode")
    code = exit_code if isinstance(exit_code, int) else 1
    if code != 0:
        if not args.flag("quiet"):
            ctx.warn(f"command terminated with exit code {code}")
        return code
    return 0
