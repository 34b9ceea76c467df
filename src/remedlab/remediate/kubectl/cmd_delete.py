"""`kubectl delete`, waiting (by default) until the deleted objects are gone."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass

from remedlab.api.kinds import BY_KIND, KindInfo, resolve
from remedlab.remediate.kubectl.context import CommandContext
from remedlab.remediate.kubectl.errors import ApiStatusError, CommandError
from remedlab.remediate.kubectl.field_selectors import matches_field_selector, parse_field_selector
from remedlab.remediate.kubectl.fields import get_str, name_of, namespace_of
from remedlab.remediate.kubectl.flags import ParsedArgs
from remedlab.remediate.kubectl.humanize import parse_duration
from remedlab.remediate.kubectl.resource_args import object_ref, parse_resource_args, plural_ref, quoted_ref

POLL_INTERVAL_SECONDS = 0.5
DEFAULT_WAIT_TIMEOUT_SECONDS = 60.0
FORCE_WARNING = (
    "Warning: Immediate deletion does not wait for confirmation that the running resource has been terminated. "
    "The resource may continue to run on the cluster indefinitely."
)


@dataclass(frozen=True)
class DeleteTarget:
    info: KindInfo
    namespace: str
    name: str
    source: str = ""


@dataclass(frozen=True)
class Deleted:
    target: DeleteTarget
    uid: str


def _grace_period(args: ParsedArgs) -> int | None:
    grace = args.int_value("grace-period", -1)
    if args.flag("now"):
        if grace != -1:
            raise CommandError("--now and --grace-period cannot be specified together")
        grace = 1
    if args.flag("force"):
        if grace < 0:
            grace = 0
    elif grace == 0:
        grace = 1
    return None if grace < 0 else grace


def _targets_from_files(ctx: CommandContext, args: ParsedArgs) -> list[DeleteTarget]:
    from remedlab.remediate.kubectl.manifest_files import load_manifests

    if args.positionals:
        raise CommandError(
            "when paths, URLs, or stdin is provided as input, you may not specify resources by arguments as well"
        )
    targets: list[DeleteTarget] = []
    for manifest in load_manifests(args.all_values("filename"), recursive=args.flag("recursive"), stdin=sys.stdin):
        info = BY_KIND.get(manifest.kind) or resolve(manifest.kind)
        if info is None:
            raise CommandError(
                f'resource mapping not found for name: "{manifest.name}" namespace: "{manifest.namespace}" '
                f'from "{manifest.source}": no matches for kind "{manifest.kind}" in version '
                f'"{get_str(manifest.obj, "apiVersion")}"'
            )
        namespace = (manifest.namespace or ctx.namespace) if info.namespaced else ""
        targets.append(DeleteTarget(info, namespace, manifest.name, manifest.source))
    return targets


def _targets_from_args(ctx: CommandContext, args: ParsedArgs) -> list[DeleteTarget]:
    requests = parse_resource_args(args.positionals)
    if not requests:
        raise CommandError(
            "You must provide one or more resources by argument or filename.\n"
            "Example resource specifications include:\n   '-f rsrc.yaml'\n   '--filename=rsrc.json'\n"
            "   '<resource> <name>'\n   '<resource>'"
        )
    selector = args.value("selector")
    field_selector = args.value("field-selector")
    select_all = args.flag("all")
    all_namespaces = args.flag("all-namespaces")
    targets: list[DeleteTarget] = []
    for request in requests:
        info = request.info
        if request.names:
            if selector or select_all:
                raise CommandError("name cannot be provided when a selector is specified")
            targets += [DeleteTarget(info, ctx.namespace_for(info), name) for name in request.names]
            continue
        if not (selector or select_all or field_selector):
            raise CommandError("resource(s) were provided, but no name was specified")
        namespace = None if all_namespaces else ctx.namespace
        found = ctx.client.list_objects(info, namespace, label_selector=selector, field_selector=field_selector)
        if field_selector:
            terms = parse_field_selector(field_selector)
            found = [obj for obj in found if matches_field_selector(obj, terms)]
        targets += [DeleteTarget(info, namespace_of(obj) if info.namespaced else "", name_of(obj)) for obj in found]
    return targets


def run(ctx: CommandContext, args: ParsedArgs) -> int:
    grace = _grace_period(args)
    force = args.flag("force")
    raw_timeout = args.value("timeout")
    try:
        timeout = parse_duration(raw_timeout) if raw_timeout else 0.0
    except ValueError as exc:
        raise CommandError(f'invalid argument "{raw_timeout}" for "--timeout" flag: {exc}') from None
    from_files = bool(args.all_values("filename"))
    targets = _targets_from_files(ctx, args) if from_files else _targets_from_args(ctx, args)
    if not targets:
        ctx.warn("No resources found")
        return 0
    if force and grace == 0:
        ctx.warn(FORCE_WARNING)
    ignore_missing = args.flag("ignore-not-found")
    status = 0
    deleted: list[Deleted] = []
    for target in targets:
        try:
            answer = ctx.client.delete_object(target.info, target.namespace, target.name, grace)
        except ApiStatusError as exc:
            if exc.not_found and ignore_missing:
                continue
            ctx.report(exc.with_context(f'error when deleting "{target.source}": ') if target.source else exc)
            status = 1
            continue
        deleted.append(Deleted(target, get_str(answer, "metadata", "uid")))
        if args.text("output") == "name":
            ctx.print(object_ref(target.info, target.name))
        else:
            ctx.print(
                f"{quoted_ref(target.info, target.name)} {'force deleted' if force and grace == 0 else 'deleted'}"
            )
    ctx.out.flush()
    if args.flag("wait", default=True) and deleted:
        _wait_until_gone(ctx, deleted, timeout or DEFAULT_WAIT_TIMEOUT_SECONDS)
    return status


def _wait_until_gone(ctx: CommandContext, deleted: list[Deleted], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    pending = list(deleted)
    while pending:
        still: list[Deleted] = []
        for item in pending:
            target = item.target
            try:
                current = ctx.client.get_object(target.info, target.namespace, target.name)
            except ApiStatusError as exc:
                if exc.not_found:
                    continue
                raise
            uid = get_str(current, "metadata", "uid")
            if item.uid and uid and uid != item.uid:
                continue
            still.append(item)
        pending = still
        if not pending:
            return
        if time.monotonic() >= deadline:
            first = pending[0].target
            raise CommandError(f"timed out waiting for the condition on {plural_ref(first.info)}/{first.name}")
        time.sleep(POLL_INTERVAL_SECONDS)
