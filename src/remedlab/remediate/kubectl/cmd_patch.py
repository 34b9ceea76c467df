"""`scale`, `patch`, `label`, `annotate`, `cordon` and `uncordon`."""

from __future__ import annotations

import json
from typing import Any

from remedlab.remediate.kubectl.context import CommandContext
from remedlab.remediate.kubectl.edit_patches import (
    apply_metadata_changes,
    check_overwrite,
    metadata_patch,
    parse_metadata_changes,
    split_metadata_args,
)
from remedlab.remediate.kubectl.errors import CommandError
from remedlab.remediate.kubectl.fields import JsonObject, dig, get_int, get_str, str_map
from remedlab.remediate.kubectl.flags import ParsedArgs
from remedlab.remediate.kubectl.resource_args import object_ref, resolve_kind
from remedlab.remediate.kubectl.targets import object_targets

PATCH_TYPES = ("json", "merge", "strategic")


# ---------------------------------------------------------------------- scale


def run_scale(ctx: CommandContext, args: ParsedArgs) -> int:
    raw = args.value("replicas")
    try:
        replicas = int(raw) if raw is not None else -1
    except ValueError:
        replicas = -1
    if replicas < 0:
        raise CommandError("The --replicas=COUNT flag is required, and COUNT must be greater than or equal to 0")
    expected = args.int_value("current-replicas", -1)
    targets = object_targets(
        ctx, args.positionals, selector=args.value("selector"), select_all=args.flag("all"), verb="scale"
    )
    for info, name in targets:
        if info.kind not in ("Deployment", "ReplicaSet"):
            raise CommandError(f'cannot scale {info.plural}: no scaler has been implemented for "{info.kind}"')
        if expected >= 0:
            current = ctx.client.get_object(info, ctx.namespace, name)
            actual = get_int(current, "spec", "replicas", default=1)
            if actual != expected:
                raise CommandError(f"Expected replicas to be {expected}, was {actual}")
        if info.kind == "Deployment":
            ctx.client.object_action(info, ctx.namespace, name, "scale", {"replicas": replicas})
        else:
            ctx.client.patch_object(info, ctx.namespace, name, "merge", {"spec": {"replicas": replicas}})
        ctx.print(f"{object_ref(info, name)} scaled")
    return 0


# ---------------------------------------------------------------------- patch


def parse_patch_text(text: str) -> Any:
    """A patch given as JSON or YAML."""
    try:
        return json.loads(text)
    except ValueError:
        pass
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CommandError(f'unable to parse "{text}": {exc}') from None


def _patch_body(args: ParsedArgs) -> tuple[str, Any]:
    patch_type = args.text("type", "strategic")
    if patch_type not in PATCH_TYPES:
        raise CommandError(f'--type must be one of [json merge strategic], not "{patch_type}"')
    text = args.value("patch")
    patch_file = args.value("patch-file")
    if text and patch_file:
        raise CommandError("--patch and --patch-file are mutually exclusive")
    if patch_file:
        try:
            with open(patch_file, encoding="utf-8") as handle:
                text = handle.read()
        except OSError as exc:
            raise CommandError(f"unable to read patch file {patch_file}: {exc.strerror}") from None
    if not text:
        raise CommandError("must specify --patch or --patch-file containing the contents of the patch")
    patch = parse_patch_text(text)
    if patch_type == "json" and not isinstance(patch, list):
        raise CommandError("json patches must be a list of operations")
    if patch_type != "json" and not isinstance(patch, dict):
        raise CommandError(f"{patch_type} patches must be a JSON or YAML object")
    return patch_type, patch


def _unchanged(before: JsonObject, after: JsonObject) -> bool:
    before_version = get_str(before, "metadata", "resourceVersion")
    after_version = get_str(after, "metadata", "resourceVersion")
    if before_version and after_version:
        return before_version == after_version
    return before == after


def run_patch(ctx: CommandContext, args: ParsedArgs) -> int:
    patch_type, patch = _patch_body(args)
    for info, name in object_targets(ctx, args.positionals):
        namespace = ctx.namespace_for(info)
        before = ctx.client.get_object(info, namespace, name)
        after = ctx.client.patch_object(info, namespace, name, patch_type, patch)
        suffix = " (no change)" if _unchanged(before, after) else ""
        ctx.print(f"{object_ref(info, name)} patched{suffix}")
    return 0


# ---------------------------------------------------------------------- label and annotate


def _change_metadata(ctx: CommandContext, args: ParsedArgs, field: str, what: str) -> int:
    resources, raw_changes = split_metadata_args(args.positionals, what)
    changes = parse_metadata_changes(raw_changes, what)
    overwrite = args.flag("overwrite")
    targets = object_targets(ctx, resources, selector=args.value("selector"), select_all=args.flag("all"), verb=what)
    for info, name in targets:
        namespace = ctx.namespace_for(info)
        current = ctx.client.get_object(info, namespace, name)
        check_overwrite(current, field, changes, overwrite, what)
        before = str_map(current, "metadata", field)
        after = apply_metadata_changes(before, changes)
        if after == before and what == "label":
            ctx.print(f"{object_ref(info, name)} not labeled")
            continue
        ctx.client.patch_object(info, namespace, name, "merge", metadata_patch(field, changes))
        if what == "annotation":
            verb = "annotated"
        elif not overwrite and len(json.dumps(after)) < len(json.dumps(before)):
            verb = "unlabeled"
        else:
            verb = "labeled"
        ctx.print(f"{object_ref(info, name)} {verb}")
    return 0


def run_label(ctx: CommandContext, args: ParsedArgs) -> int:
    return _change_metadata(ctx, args, "labels", "label")


def run_annotate(ctx: CommandContext, args: ParsedArgs) -> int:
    return _change_metadata(ctx, args, "annotations", "annotation")


# ---------------------------------------------------------------------- cordon and uncordon


def _set_unschedulable(ctx: CommandContext, args: ParsedArgs, unschedulable: bool) -> int:
    if not args.positionals:
        raise CommandError("USAGE: kubectl cordon|uncordon NODE")
    info = resolve_kind("nodes")
    verb = "cordoned" if unschedulable else "uncordoned"
    for word in args.positionals:
        name = word.partition("/")[2] if "/" in word else word
        node = ctx.client.get_object(info, "", name)
        if (dig(node, "spec", "unschedulable") is True) == unschedulable:
            ctx.print(f"node/{name} already {verb}")
            continue
        ctx.client.patch_object(info, "", name, "merge", {"spec": {"unschedulable": True if unschedulable else None}})
        ctx.print(f"node/{name} {verb}")
    return 0


def run_cordon(ctx: CommandContext, args: ParsedArgs) -> int:
    return _set_unschedulable(ctx, args, True)


def run_uncordon(ctx: CommandContext, args: ParsedArgs) -> int:
    return _set_unschedulable(ctx, args, False)
