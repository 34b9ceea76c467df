"""`kubectl wait --for=condition=...|delete|jsonpath=...`."""

from __future__ import annotations

import time
from collections.abc import Callable

from remedlab.api.kinds import KindInfo
from remedlab.remediate.kubectl.context import CommandContext
from remedlab.remediate.kubectl.errors import ApiStatusError, CommandError
from remedlab.remediate.kubectl.fields import JsonObject, get_dicts, get_str, name_of
from remedlab.remediate.kubectl.flags import ParsedArgs
from remedlab.remediate.kubectl.humanize import parse_duration
from remedlab.remediate.kubectl.jsonpath import JsonPathError, format_value, relaxed_template
from remedlab.remediate.kubectl.output_formats import compile_jsonpath
from remedlab.remediate.kubectl.resource_args import object_ref, parse_resource_args, plural_ref

POLL_INTERVAL_SECONDS = 1.0
DEFAULT_TIMEOUT_SECONDS = 30.0

Check = Callable[[JsonObject | None], bool]


def _condition_check(spec: str) -> Check:
    name, _, wanted = spec.partition("=")
    wanted_status = (wanted or "True").lower()

    def check(obj: JsonObject | None) -> bool:
        if obj is None:
            return False
        for condition in get_dicts(obj, "status", "conditions"):
            if get_str(condition, "type").lower() == name.lower():
                return get_str(condition, "status").lower() == wanted_status
        return False

    return check


def _jsonpath_check(spec: str) -> Check:
    end = spec.rfind("}")
    expression, sep, wanted = (spec[: end + 1], "=", spec[end + 2 :]) if end >= 0 else spec.partition("=")
    if not sep or (end >= 0 and spec[end + 1 : end + 2] != "="):
        raise CommandError(f"jsonpath wait format must be --for=jsonpath='{{.status.readyReplicas}}'=3, got {spec}")
    template = compile_jsonpath(relaxed_template(expression))

    def check(obj: JsonObject | None) -> bool:
        if obj is None:
            return False
        try:
            values = template.values(obj)
        except JsonPathError:
            return False
        return bool(values) and format_value(values[0]) == wanted

    return check


def _parse_for(spec: str) -> tuple[Check, bool]:
    """(the check, whether it waits for deletion)."""
    if spec == "delete":
        return (lambda obj: obj is None), True
    if spec.startswith("condition="):
        return _condition_check(spec.removeprefix("condition=")), False
    if spec.startswith("jsonpath="):
        return _jsonpath_check(spec.removeprefix("jsonpath=")), False
    raise CommandError(f"unrecognized condition: {spec!r}")


def run(ctx: CommandContext, args: ParsedArgs) -> int:
    spec = args.value("for")
    if not spec:
        raise CommandError("--for must be specified: --for=condition=NAME, --for=delete or --for=jsonpath=...")
    check, for_delete = _parse_for(spec)
    raw_timeout = args.value("timeout")
    try:
        timeout = parse_duration(raw_timeout) if raw_timeout else DEFAULT_TIMEOUT_SECONDS
    except ValueError as exc:
        raise CommandError(f'invalid argument "{raw_timeout}" for "--timeout" flag: {exc}') from None
    requests = parse_resource_args(args.positionals)
    if not requests:
        raise CommandError("resource(s) were provided, but no name was specified")
    selector = args.value("selector")
    targets: list[tuple[KindInfo, str, str]] = []
    for request in requests:
        if request.names:
            targets += [(request.info, ctx.namespace_for(request.info), n) for n in request.names]
        else:
            if not (selector or args.flag("all")):
                raise CommandError("resource(s) were provided, but no name was specified")
            namespace = None if args.flag("all-namespaces") else ctx.namespace
            for found in ctx.client.list_objects(request.info, namespace, label_selector=selector):
                targets.append((request.info, get_str(found, "metadata", "namespace"), name_of(found)))
    if not targets:
        raise CommandError("no matching resources found")
    deadline = time.monotonic() + timeout
    pending = list(targets)
    while True:
        remaining = []
        for info, namespace, name in pending:
            try:
                obj: JsonObject | None = ctx.client.get_object(info, namespace, name)
            except ApiStatusError as exc:
                if not exc.not_found:
                    raise
                if not for_delete:
                    raise
                obj = None
            if check(obj):
                ctx.print(f"{object_ref(info, name)} condition met")
                ctx.out.flush()
            else:
                remaining.append((info, namespace, name))
        pending = remaining
        if not pending:
            return 0
        if time.monotonic() >= deadline:
            info, _, name = pending[0]
            raise CommandError(f"timed out waiting for the condition on {plural_ref(info)}/{name}")
        time.sleep(min(POLL_INTERVAL_SECONDS, max(0.0, deadline - time.monotonic())))
