"""`version`, `cluster-info`, `api-resources`, `api-versions` and `config`."""

from __future__ import annotations

from typing import Any

from remedlab.api.kinds import KINDS
from remedlab.remediate.kubectl.context import CommandContext
from remedlab.remediate.kubectl.errors import CommandError
from remedlab.remediate.kubectl.flags import ParsedArgs, parse_bool
from remedlab.remediate.kubectl.output_formats import render_json, render_yaml
from remedlab.remediate.kubectl.tabwriter import rows_to_table

CLIENT_VERSION = "v1.30.0-remedlab"
CONTEXT_NAME = "remedlab"


def _version_info(git_version: str) -> dict[str, str]:
    major, _, rest = git_version.lstrip("v").partition(".")
    minor = rest.split(".", 1)[0]
    return {"major": major, "minor": minor, "gitVersion": git_version, "platform": "linux/amd64"}


def run_version(ctx: CommandContext, args: ParsedArgs) -> int:
    output = args.text("output")
    if output not in ("", "json", "yaml"):
        raise CommandError("--output must be 'yaml' or 'json'")
    document: dict[str, Any] = {"clientVersion": _version_info(CLIENT_VERSION)}
    if not args.flag("client"):
        answer = ctx.client.request("GET", "/v1/version")
        if isinstance(answer, dict):
            document["serverVersion"] = _version_info(str(answer.get("kubernetes", "")))
            document["remedlabVersion"] = str(answer.get("remedlab", ""))
    if output == "json":
        ctx.write(render_json(document))
    elif output == "yaml":
        ctx.write(render_yaml(document))
    else:
        ctx.print(f"Client Version: {CLIENT_VERSION}")
        if "serverVersion" in document:
            ctx.print(f"Server Version: {document['serverVersion']['gitVersion']}")
    return 0


def run_cluster_info(ctx: CommandContext, args: ParsedArgs) -> int:
    if args.positionals:
        if args.positionals[0] == "dump":
            raise CommandError('"kubectl cluster-info dump" is not supported by remedlab\'s kubectl')
        raise CommandError(f'unknown command "{args.positionals[0]}" for "kubectl cluster-info"')
    ctx.client.request("GET", "/healthz")
    ctx.print(f"Kubernetes control plane is running at {ctx.client.server}")
    ctx.print()
    ctx.print("To further debug and diagnose cluster problems, use 'kubectl cluster-info dump'.")
    return 0


def run_api_resources(ctx: CommandContext, args: ParsedArgs) -> int:
    kinds = sorted(KINDS, key=lambda k: (k.group, k.plural))
    raw_namespaced = args.value("namespaced")
    if raw_namespaced is not None:
        wanted = parse_bool(raw_namespaced, "namespaced", args.command_path)
        kinds = [k for k in kinds if k.namespaced == wanted]
    group = args.value("api-group")
    if group is not None:
        kinds = [k for k in kinds if k.group == group]
    if args.text("sort-by") == "kind":
        kinds = sorted(kinds, key=lambda k: k.kind)
    output = args.text("output")
    if output == "name":
        for info in kinds:
            ctx.print(f"{info.plural}.{info.group}" if info.group else info.plural)
        return 0
    if output not in ("", "wide"):
        raise CommandError(f"--output {output} is not available")
    rows: list[list[str]] = []
    if not args.flag("no-headers"):
        rows.append(["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"])
    for info in kinds:
        rows.append(
            [
                info.plural,
                ",".join(info.short_names),
                info.api_version,
                "true" if info.namespaced else "false",
                info.kind,
            ]
        )
    ctx.write(rows_to_table(rows))
    return 0


def run_api_versions(ctx: CommandContext, args: ParsedArgs) -> int:
    for version in sorted({info.api_version for info in KINDS}):
        ctx.print(version)
    return 0


def run_current_context(ctx: CommandContext, args: ParsedArgs) -> int:
    ctx.print(CONTEXT_NAME)
    return 0


def run_get_contexts(ctx: CommandContext, args: ParsedArgs) -> int:
    if args.text("output") == "name":
        ctx.print(CONTEXT_NAME)
        return 0
    rows: list[list[str]] = []
    if not args.flag("no-headers"):
        rows.append(["CURRENT", "NAME", "CLUSTER", "AUTHINFO", "NAMESPACE"])
    rows.append(["*", CONTEXT_NAME, CONTEXT_NAME, CONTEXT_NAME, ctx.namespace])
    ctx.write(rows_to_table(rows))
    return 0


def run_config_view(ctx: CommandContext, args: ParsedArgs) -> int:
    token = ctx.client.token
    user: dict[str, Any] = {}
    if token:
        user["token"] = token if args.flag("raw") else "REDACTED"
    document: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": CONTEXT_NAME, "cluster": {"server": ctx.client.server}}],
        "contexts": [
            {
                "name": CONTEXT_NAME,
                "context": {"cluster": CONTEXT_NAME, "user": CONTEXT_NAME, "namespace": ctx.namespace},
            }
        ],
        "current-context": CONTEXT_NAME,
        "preferences": {},
        "users": [{"name": CONTEXT_NAME, "user": user}],
    }
    if args.text("output") == "json":
        ctx.write(render_json(document))
    else:
        ctx.write(render_yaml(document))
    return 0
