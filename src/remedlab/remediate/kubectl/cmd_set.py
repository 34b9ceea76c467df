"""`kubectl set env|image|resources`: strategic-merge patches on a pod template."""

from __future__ import annotations

from remedlab.api.kinds import KindInfo
from remedlab.remediate.kubectl.context import CommandContext
from remedlab.remediate.kubectl.edit_patches import (
    container_names,
    env_patch,
    image_patch,
    parse_env_args,
    parse_image_args,
    parse_resource_list,
    pod_spec_path,
    resources_patch,
    select_containers,
)
from remedlab.remediate.kubectl.errors import CommandError
from remedlab.remediate.kubectl.fields import JsonObject, dig, get_dicts, get_str
from remedlab.remediate.kubectl.flags import ParsedArgs
from remedlab.remediate.kubectl.resource_args import object_ref
from remedlab.remediate.kubectl.targets import object_targets


def _split_resources_and_assignments(positionals: list[str]) -> tuple[list[str], list[str]]:
    """Resource arguments come first; `KEY=VAL` / `KEY-` / `CONTAINER=IMAGE` follow."""
    resources: list[str] = []
    assignments: list[str] = []
    for item in positionals:
        if assignments or "=" in item or (item.endswith("-") and len(item) > 1 and "/" not in item):
            assignments.append(item)
        else:
            resources.append(item)
    return resources, assignments


def _targets(ctx: CommandContext, args: ParsedArgs, resources: list[str], verb: str) -> list[tuple[KindInfo, str]]:
    targets = object_targets(ctx, resources, selector=args.value("selector"), select_all=args.flag("all"), verb=verb)
    for info, _ in targets:
        pod_spec_path(info.kind)
    return targets


def _patch(ctx: CommandContext, info: KindInfo, name: str, patch: JsonObject, message: str) -> None:
    ctx.client.patch_object(info, ctx.namespace, name, "strategic", patch)
    ctx.print(f"{object_ref(info, name)} {message}")


def _list_env(ctx: CommandContext, info: KindInfo, obj: JsonObject, pattern: str | None) -> None:
    containers = get_dicts(dig(obj, *pod_spec_path(info.kind)), "containers")
    chosen = set(select_containers([get_str(c, "name") for c in containers], pattern))
    for container in containers:
        if get_str(container, "name") not in chosen:
            continue
        ctx.print(f"# {object_ref(info, get_str(obj, 'metadata', 'name'))}, container {get_str(container, 'name')}")
        for env in get_dicts(container, "env"):
            if "value" in env or not env.get("valueFrom"):
                ctx.print(f"{get_str(env, 'name')}={get_str(env, 'value')}")
            else:
                ctx.print(f"# {get_str(env, 'name')} from {next(iter(env['valueFrom']), 'source')}")


def run_env(ctx: CommandContext, args: ParsedArgs) -> int:
    resources, assignments = _split_resources_and_assignments(args.positionals)
    targets = _targets(ctx, args, resources, "env")
    pattern = args.value("container")
    if args.flag("list"):
        for info, name in targets:
            _list_env(ctx, info, ctx.client.get_object(info, ctx.namespace, name), pattern)
        return 0
    sets, removals = parse_env_args([*args.all_values("env"), *assignments])
    if not sets and not removals:
        raise CommandError("at least one environment variable must be provided")
    for info, name in targets:
        obj = ctx.client.get_object(info, ctx.namespace, name)
        containers = select_containers(container_names(obj, info.kind), pattern)
        _patch(ctx, info, name, env_patch(info.kind, containers, sets, removals), "env updated")
    return 0


def run_image(ctx: CommandContext, args: ParsedArgs) -> int:
    resources, assignments = _split_resources_and_assignments(args.positionals)
    images = parse_image_args(assignments)
    for info, name in _targets(ctx, args, resources, "image"):
        obj = ctx.client.get_object(info, ctx.namespace, name)
        patch = image_patch(info.kind, container_names(obj, info.kind), images)
        _patch(ctx, info, name, patch, "image updated")
    return 0


def run_resources(ctx: CommandContext, args: ParsedArgs) -> int:
    limits = parse_resource_list(args.text("limits"))
    requests = parse_resource_list(args.text("requests"))
    if not limits and not requests:
        raise CommandError("you must specify an update to requests or limits (in the form of --requests/--limits)")
    if [p for p in args.positionals if "=" in p]:
        raise CommandError("resource requirements are given with --limits and --requests, not as arguments")
    pattern = args.value("container")
    for info, name in _targets(ctx, args, list(args.positionals), "resources"):
        obj = ctx.client.get_object(info, ctx.namespace, name)
        containers = select_containers(container_names(obj, info.kind), pattern)
        patch = resources_patch(info.kind, containers, limits, requests)
        _patch(ctx, info, name, patch, "resource requirements updated")
    return 0
