"""`kubectl apply`, `create` and `replace`."""

from __future__ import annotations

import base64
import os
import sys
from typing import Any

from remedlab.api.kinds import BY_KIND, BY_PLURAL, KindInfo, resolve
from remedlab.remediate.kubectl.context import CommandContext
from remedlab.remediate.kubectl.errors import ApiStatusError, CommandError
from remedlab.remediate.kubectl.fields import JsonObject, get_dicts, get_str
from remedlab.remediate.kubectl.flags import ParsedArgs
from remedlab.remediate.kubectl.resource_args import object_ref

_DRY_RUN_VALUES = ("none", "client", "server")


def _dry_run(args: ParsedArgs) -> str:
    value = args.text("dry-run", "none") or "none"
    if value == "true":
        value = "client"
    if value == "false":
        value = "none"
    if value not in _DRY_RUN_VALUES:
        raise CommandError(f'Invalid dry-run value ({value}). Must be "none", "server", or "client".')
    return value


def _dry_run_suffix(mode: str) -> str:
    return {"client": " (dry run)", "server": " (server dry run)"}.get(mode, "")


def _load(ctx: CommandContext, args: ParsedArgs) -> list[Any]:
    from remedlab.remediate.kubectl.manifest_files import load_manifests

    if args.positionals:
        raise CommandError(
            "Unexpected args: "
            + str(args.positionals)
            + "\nSee 'kubectl "
            + args.command_path
            + " -h' for help and examples"
        )
    return load_manifests(args.all_values("filename"), recursive=args.flag("recursive"), stdin=sys.stdin)


def _kind_for(manifest_kind: str, api_version: str, name: str, namespace: str, source: str) -> KindInfo:
    info = BY_KIND.get(manifest_kind) or resolve(manifest_kind)
    if info is None:
        raise CommandError(
            f'resource mapping not found for name: "{name}" namespace: "{namespace}" from "{source}": '
            f'no matches for kind "{manifest_kind}" in version "{api_version}"\nensure CRDs are installed first'
        )
    return info


def _check_namespace(ctx: CommandContext, info: KindInfo, obj_namespace: str) -> None:
    if ctx.namespace_given and info.namespaced and obj_namespace and obj_namespace != ctx.namespace:
        raise CommandError(
            f'the namespace from the provided object "{obj_namespace}" does not match the namespace '
            f"\"{ctx.namespace}\". You must pass '--namespace={obj_namespace}' to perform this operation."
        )


def _result_ref(result: JsonObject) -> str:
    kind = get_str(result, "kind")
    info = BY_KIND.get(kind) or resolve(kind)
    name = get_str(result, "name")
    return object_ref(info, name) if info else f"{kind.lower()}/{name}"


def run_apply(ctx: CommandContext, args: ParsedArgs) -> int:
    mode = _dry_run(args)
    manifests = _load(ctx, args)
    objects: list[JsonObject] = []
    for manifest in manifests:
        info = _kind_for(
            manifest.kind, get_str(manifest.obj, "apiVersion"), manifest.name, manifest.namespace, manifest.source
        )
        _check_namespace(ctx, info, manifest.namespace)
        objects.append(manifest.obj)
    body = {
        "objects": objects,
        "namespace": ctx.namespace if ctx.namespace_given else None,
        "dryRun": mode != "none",
    }
    answer = ctx.client.request("POST", "/v1/apply", body=body)
    output = args.text("output")
    suffix = _dry_run_suffix(mode)
    for result in get_dicts(answer, "results"):
        if output == "name":
            ctx.print(_result_ref(result))
        else:
            ctx.print(f"{_result_ref(result)} {get_str(result, 'action')}{suffix}")
    return 0


def _object_namespace(ctx: CommandContext, info: KindInfo, obj_namespace: str) -> str:
    if not info.namespaced:
        return ""
    return obj_namespace or ctx.namespace


def run_replace(ctx: CommandContext, args: ParsedArgs) -> int:
    manifests = _load(ctx, args)
    status = 0
    for manifest in manifests:
        info = _kind_for(
            manifest.kind, get_str(manifest.obj, "apiVersion"), manifest.name, manifest.namespace, manifest.source
        )
        _check_namespace(ctx, info, manifest.namespace)
        namespace = _object_namespace(ctx, info, manifest.namespace)
        try:
            ctx.client.replace_object(info, namespace, manifest.name, manifest.obj)
        except ApiStatusError as exc:
            ctx.report(exc.with_context(f'error when replacing "{manifest.source}": '))
            status = 1
            continue
        ctx.print(f"{object_ref(info, manifest.name)} replaced")
    return status


# ---------------------------------------------------------------------- create


def run_create(ctx: CommandContext, args: ParsedArgs) -> int:
    if args.all_values("filename"):
        return _create_from_files(ctx, args)
    if not args.positionals:
        raise CommandError("must specify one of -f and -k")
    what = args.positionals[0]
    rest = args.positionals[1:]
    if what in ("namespace", "ns"):
        return _create_built(ctx, args, BY_PLURAL["namespaces"], _single_name(rest, what), {})
    if what in ("configmap", "cm"):
        name = _single_name(rest, what)
        return _create_built(ctx, args, BY_PLURAL["configmaps"], name, {"data": _data_items(args, encode=False)})
    if what == "secret":
        if not rest or rest[0] != "generic":
            raise CommandError('only "kubectl create secret generic NAME" is supported')
        name = _single_name(rest[1:], "secret generic")
        body = {"type": "Opaque", "data": _data_items(args, encode=True)}
        return _create_built(ctx, args, BY_PLURAL["secrets"], name, body)
    if what in ("deployment", "deploy"):
        return _create_deployment(ctx, args, _single_name(rest, what))
    raise CommandError(f'unknown command "{what}" for "kubectl create"')


def _single_name(rest: list[str], what: str) -> str:
    if len(rest) != 1:
        raise CommandError(f"exactly one NAME is required, got {len(rest)}\nUsage: kubectl create {what} NAME")
    return rest[0]


def _data_items(args: ParsedArgs, *, encode: bool) -> dict[str, str]:
    data: dict[str, str] = {}
    for literal in args.all_values("from-literal"):
        key, sep, value = literal.partition("=")
        if not sep or not key:
            raise CommandError(f"invalid literal source {literal}, expected key=value")
        data[key] = value
    for source in args.all_values("from-file"):
        key, sep, path = source.partition("=")
        if not sep:
            key, path = os.path.basename(source), source
        try:
            with open(path, encoding="utf-8") as handle:
                data[key] = handle.read()
        except OSError as exc:
            raise CommandError(f"error reading {path}: {exc.strerror}") from None
    if encode:
        return {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
    return data


def _create_deployment(ctx: CommandContext, args: ParsedArgs, name: str) -> int:
    image = args.value("image")
    if not image:
        raise CommandError('required flag(s) "image" not set')
    container: JsonObject = {"name": image.rsplit("/", 1)[-1].split(":", 1)[0].split("@", 1)[0], "image": image}
    port = args.value("port")
    if port:
        container["ports"] = [{"containerPort": int(port)}]
    labels = {"app": name}
    body: JsonObject = {
        "spec": {
            "replicas": args.int_value("replicas", 1),
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}},
        }
    }
    return _create_built(ctx, args, BY_PLURAL["deployments"], name, body, labels)


def _create_built(
    ctx: CommandContext,
    args: ParsedArgs,
    info: KindInfo,
    name: str,
    body: JsonObject,
    labels: dict[str, str] | None = None,
) -> int:
    metadata: JsonObject = {"name": name}
    if labels:
        metadata["labels"] = labels
    obj: JsonObject = {"apiVersion": info.api_version, "kind": info.kind, "metadata": metadata, **body}
    mode = _dry_run(args)
    if mode == "none":
        ctx.client.create_object(info, ctx.namespace_for(info), obj)
    ctx.print(f"{object_ref(info, name)} created{_dry_run_suffix(mode)}")
    return 0


def _create_from_files(ctx: CommandContext, args: ParsedArgs) -> int:
    mode = _dry_run(args)
    status = 0
    for manifest in _load(ctx, args):
        info = _kind_for(
            manifest.kind, get_str(manifest.obj, "apiVersion"), manifest.name, manifest.namespace, manifest.source
        )
        _check_namespace(ctx, info, manifest.namespace)
        namespace = _object_namespace(ctx, info, manifest.namespace)
        try:
            if mode == "none":
                ctx.client.create_object(info, namespace, manifest.obj)
            else:
                _fail_if_exists(ctx, info, namespace, manifest.name)
        except ApiStatusError as exc:
            ctx.report(exc.with_context(f'error when creating "{manifest.source}": '))
            status = 1
            continue
        ctx.print(f"{object_ref(info, manifest.name)} created{_dry_run_suffix(mode)}")
    return status


def _fail_if_exists(ctx: CommandContext, info: KindInfo, namespace: str, name: str) -> None:
    try:
        ctx.client.get_object(info, namespace, name)
    except ApiStatusError as exc:
        if exc.not_found:
            return
        raise
    raise ApiStatusError(409, "AlreadyExists", f'{info.plural} "{name}" already exists')
