"""`kubectl get`."""

from __future__ import annotations

from dataclasses import dataclass

from remedlab.api.kinds import KindInfo
from remedlab.remediate.kubectl.context import CommandContext
from remedlab.remediate.kubectl.errors import ApiStatusError, CommandError
from remedlab.remediate.kubectl.field_selectors import matches_field_selector, parse_field_selector
from remedlab.remediate.kubectl.fields import JsonObject
from remedlab.remediate.kubectl.flags import ParsedArgs
from remedlab.remediate.kubectl.output_formats import (
    OutputFormat,
    list_document,
    object_names,
    parse_output_format,
    render_custom_columns,
    render_document,
    sort_objects,
    with_type_fields,
)
from remedlab.remediate.kubectl.printers import TableOptions, render_table
from remedlab.remediate.kubectl.resource_args import ResourceRequest, parse_resource_args

NO_TYPE_MESSAGE = (
    'You must specify the type of resource to get. Use "kubectl api-resources" for a complete list of '
    "supported resources."
)
WATCH_MESSAGE = (
    "watching (-w/--watch) is not supported by remedlab's kubectl; run the command again to see the current state"
)


@dataclass
class FetchedGroup:
    info: KindInfo
    objects: list[JsonObject]


def fetch_groups(
    ctx: CommandContext,
    requests: list[ResourceRequest],
    *,
    all_namespaces: bool,
    label_selector: str | None,
    field_selector: str | None,
    errors: list[ApiStatusError],
) -> list[FetchedGroup]:
    """Objects for every requested kind; per-name failures go to `errors` and the rest carry on."""
    terms = parse_field_selector(field_selector) if field_selector else []
    groups: list[FetchedGroup] = []
    for request in requests:
        objects: list[JsonObject] = []
        if request.names:
            for name in request.names:
                try:
                    objects.append(ctx.client.get_object(request.info, ctx.namespace_for(request.info), name))
                except ApiStatusError as exc:
                    errors.append(exc)
        else:
            namespace = None if all_namespaces else ctx.namespace
            objects = ctx.client.list_objects(
                request.info, namespace, label_selector=label_selector, field_selector=field_selector
            )
            if terms:
                objects = [obj for obj in objects if matches_field_selector(obj, terms)]
        groups.append(FetchedGroup(request.info, objects))
    return groups


def run(ctx: CommandContext, args: ParsedArgs) -> int:
    if args.flag("watch") or args.flag("watch-only"):
        raise CommandError(WATCH_MESSAGE)
    output = parse_output_format(args.value("output"))
    requests = parse_resource_args(args.positionals)
    if not requests:
        raise CommandError(NO_TYPE_MESSAGE)
    selector = args.value("selector")
    if selector and any(r.names for r in requests):
        raise CommandError("name cannot be provided when a selector is specified")
    all_namespaces = args.flag("all-namespaces")
    errors: list[ApiStatusError] = []
    groups = fetch_groups(
        ctx,
        requests,
        all_namespaces=all_namespaces,
        label_selector=selector,
        field_selector=args.value("field-selector"),
        errors=errors,
    )
    if args.flag("ignore-not-found"):
        errors = [e for e in errors if not e.not_found]
    sort_by = args.value("sort-by")
    if sort_by:
        for group in groups:
            group.objects = sort_objects(group.objects, sort_by)
    single_item = len(requests) == 1 and len(requests[0].names) == 1
    listed = not any(r.names for r in requests)
    _print_groups(ctx, args, output, groups, single_item=single_item, all_namespaces=all_namespaces)
    if listed and not any(g.objects for g in groups) and (output.is_table or output.name == "name"):
        namespaced = any(g.info.namespaced for g in groups)
        ctx.warn(ctx.no_resources_message(all_namespaces, namespaced))
    for error in errors:
        ctx.report(error)
    return 1 if errors else 0


def _print_groups(
    ctx: CommandContext,
    args: ParsedArgs,
    output: OutputFormat,
    groups: list[FetchedGroup],
    *,
    single_item: bool,
    all_namespaces: bool,
) -> None:
    if output.is_document:
        typed = [with_type_fields(obj, g.info) for g in groups for obj in g.objects]
        if single_item:
            if typed:
                ctx.write(render_document(output, typed[0]))
        else:
            ctx.write(render_document(output, list_document(typed)))
        return
    if output.name == "name":
        for group in groups:
            ctx.write(object_names(group.info, group.objects))
        return
    if output.name == "custom-columns":
        objects = [obj for g in groups for obj in g.objects]
        if objects:
            ctx.write(render_custom_columns(output.argument, objects, args.flag("no-headers")))
        return
    options = TableOptions(
        wide=output.name == "wide",
        with_namespace=all_namespaces,
        with_kind=len(groups) > 1 or args.flag("show-kind"),
        show_labels=args.flag("show-labels"),
        label_columns=tuple(c for value in args.all_values("label-columns") for c in value.split(",")),
        no_headers=args.flag("no-headers"),
    )
    printed = False
    for group in groups:
        if not group.objects:
            continue
        if printed and not options.no_headers:
            ctx.write("\n")
        with_namespace = options.with_namespace and group.info.namespaced
        group_options = TableOptions(
            options.wide,
            with_namespace,
            options.with_kind,
            options.show_labels,
            options.label_columns,
            options.no_headers,
        )
        ctx.write(render_table(group.info, group.objects, group_options, ctx.now))
        printed = True


def run_events(ctx: CommandContext, args: ParsedArgs) -> int:
    """`kubectl events`: the namespace's events, oldest first."""
    from remedlab.api.kinds import BY_PLURAL
    from remedlab.remediate.kubectl.describe_parts import sort_events
    from remedlab.remediate.kubectl.fields import get_str
    from remedlab.remediate.kubectl.resource_args import resolve_kind

    if args.flag("watch"):
        raise CommandError(WATCH_MESSAGE)
    info = BY_PLURAL["events"]
    all_namespaces = args.flag("all-namespaces")
    events = ctx.client.list_objects(info, None if all_namespaces else ctx.namespace)
    wanted_for = args.value("for")
    if wanted_for:
        kind_word, _, name = wanted_for.partition("/")
        if not name:
            raise CommandError(f"--for must be in resource/name form, got {wanted_for!r}")
        kind = resolve_kind(kind_word).kind
        events = [
            e
            for e in events
            if get_str(e, "involvedObject", "name") == name and get_str(e, "involvedObject", "kind") in (kind, "")
        ]
    types = [t.strip().lower() for t in args.text("types").split(",") if t.strip()]
    if types:
        events = [e for e in events if get_str(e, "type").lower() in types]
    events = sort_events(events)
    output = parse_output_format(args.value("output"))
    if not events and output.is_table:
        ctx.warn(ctx.no_resources_message(all_namespaces))
        return 0
    if output.is_table:
        options = TableOptions(with_namespace=all_namespaces, no_headers=args.flag("no-headers"))
        ctx.write(render_table(info, events, options, ctx.now))
        return 0
    _print_groups(ctx, args, output, [FetchedGroup(info, events)], single_item=False, all_namespaces=all_namespaces)
    return 0
