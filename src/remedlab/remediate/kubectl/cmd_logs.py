"""`kubectl logs`."""

from __future__ import annotations

from remedlab.api.kinds import BY_PLURAL
from remedlab.remediate.kubectl.client import QueryValue, object_path
from remedlab.remediate.kubectl.context import CommandContext
from remedlab.remediate.kubectl.errors import ApiStatusError, CommandError
from remedlab.remediate.kubectl.fields import JsonObject, get_dicts, get_str, name_of
from remedlab.remediate.kubectl.flags import ParsedArgs
from remedlab.remediate.kubectl.humanize import parse_duration, parse_timestamp, whole_seconds
from remedlab.remediate.kubectl.pod_selection import default_container, pods_for_selector, resolve_pod

FOLLOW_MESSAGE = "following logs (-f/--follow) is not supported by remedlab's kubectl; use --tail or --since"
SELECTOR_DEFAULT_TAIL = 10


def _log_query(ctx: CommandContext, args: ParsedArgs, tail: int) -> dict[str, QueryValue]:
    query: dict[str, QueryValue] = {}
    if tail >= 0:
        query["tailLines"] = tail
    if args.flag("previous"):
        query["previous"] = True
    if args.flag("timestamps"):
        query["timestamps"] = True
    since = args.value("since")
    since_time = args.value("since-time")
    if since and since_time:
        raise CommandError("at most one of `sinceTime` or `sinceSeconds` may be specified")
    if since:
        try:
            query["sinceSeconds"] = max(1, whole_seconds(parse_duration(since)))
        except ValueError as exc:
            raise CommandError(f'invalid argument "{since}" for "--since" flag: {exc}') from None
    if since_time:
        parsed = parse_timestamp(since_time)
        if parsed is None:
            raise CommandError(f'invalid argument "{since_time}" for "--since-time" flag')
        query["sinceSeconds"] = max(1, whole_seconds(ctx.now - parsed.timestamp()))
    return query


def _fetch(ctx: CommandContext, pod: JsonObject, container: str | None, query: dict[str, QueryValue]) -> str:
    path = object_path(BY_PLURAL["pods"], get_str(pod, "metadata", "namespace") or ctx.namespace, name_of(pod))
    full_query = dict(query)
    if container:
        full_query["container"] = container
    return ctx.client.request_text("GET", path + "/log", query=full_query)


def _emit(ctx: CommandContext, text: str, prefix: str, limit_bytes: int) -> None:
    if limit_bytes > 0:
        text = text.encode()[:limit_bytes].decode(errors="ignore")
    if prefix:
        text = "".join(f"{prefix} {line}\n" for line in text.splitlines())
    ctx.write(text)


def run(ctx: CommandContext, args: ParsedArgs) -> int:
    if args.flag("follow"):
        raise CommandError(FOLLOW_MESSAGE)
    selector = args.value("selector")
    positionals = args.positionals
    if selector and positionals:
        raise CommandError("only a selector (-l) or a POD name is allowed")
    if not selector and not positionals:
        raise CommandError("expected POD or TYPE/NAME is a required argument for the logs command")
    if len(positionals) > 2:
        raise CommandError("expected at most two arguments: POD [CONTAINER]")
    container = args.value("container")
    if len(positionals) == 2:
        if container:
            raise CommandError("only one of -c or an inline [CONTAINER] arg is allowed")
        container = positionals[1]
    limit_bytes = args.int_value("limit-bytes", 0)
    if selector:
        pods = pods_for_selector(ctx, selector)
        tail = args.int_value("tail", SELECTOR_DEFAULT_TAIL)
        max_requests = args.int_value("max-log-requests", 5)
        if len(pods) > max_requests:
            raise CommandError(
                f"you are attempting to follow {len(pods)} log streams, but maximum allowed concurrency is "
                f"{max_requests}, use --max-log-requests to increase the limit"
            )
        if not pods:
            ctx.warn(ctx.no_resources_message(False))
            return 0
    else:
        pods = [resolve_pod(ctx, positionals[0])]
        tail = args.int_value("tail", -1)
    query = _log_query(ctx, args, tail)
    status = 0
    for pod in pods:
        names = [get_str(c, "name") for c in get_dicts(pod, "spec", "containers")]
        if args.flag("all-containers"):
            targets: list[str | None] = list(names)
        elif container:
            targets = [container]
        else:
            targets = [default_container(ctx, pod, quiet=bool(selector))]
        for target in targets:
            prefix = f"[pod/{name_of(pod)}/{target}]" if args.flag("prefix") else ""
            try:
                _emit(ctx, _fetch(ctx, pod, target, query), prefix, limit_bytes)
            except ApiStatusError as exc:
                if not selector:
                    raise
                ctx.report(exc)
                status = 1
    return status
