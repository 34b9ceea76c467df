"""`kubectl top pod` and `kubectl top node`."""

from __future__ import annotations

from typing import Any

from remedlab.remediate.kubectl.context import CommandContext
from remedlab.remediate.kubectl.errors import ApiStatusError, CommandError
from remedlab.remediate.kubectl.fields import JsonObject, get_dicts, get_str
from remedlab.remediate.kubectl.flags import ParsedArgs
from remedlab.remediate.kubectl.quantities import format_top_cpu, format_top_memory
from remedlab.remediate.kubectl.tabwriter import rows_to_table


def _number(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


def _sort(items: list[JsonObject], sort_by: str) -> list[JsonObject]:
    if not sort_by:
        return items
    if sort_by not in ("cpu", "memory"):
        raise CommandError("--sort-by accepts only cpu or memory")
    key = "cpuMillicores" if sort_by == "cpu" else "memoryBytes"
    return sorted(items, key=lambda item: _number(item.get(key)), reverse=True)


def run_pods(ctx: CommandContext, args: ParsedArgs) -> int:
    all_namespaces = args.flag("all-namespaces")
    selector = args.value("selector")
    if selector and args.positionals:
        raise CommandError("only one of NAME or --selector can be provided")
    query = {"namespace": None if all_namespaces else ctx.namespace, "labelSelector": selector}
    answer = ctx.client.request("GET", "/v1/top/pods", query=query)
    items = get_dicts(answer, "items")
    if args.positionals:
        wanted = args.positionals[0]
        items = [i for i in items if get_str(i, "name") == wanted]
        if not items:
            raise ApiStatusError(404, "NotFound", f'podmetrics.metrics.k8s.io "{ctx.namespace}/{wanted}" not found')
    if not items:
        ctx.warn(ctx.no_resources_message(all_namespaces))
        return 0
    items = _sort(items, args.text("sort-by"))
    containers = args.flag("containers")
    headers = (["NAMESPACE"] if all_namespaces else []) + (["POD"] if containers else [])
    headers += ["NAME", "CPU(cores)", "MEMORY(bytes)"]
    rows: list[list[str]] = [] if args.flag("no-headers") else [headers]
    cpu_sum = 0.0
    memory_sum = 0.0
    for item in items:
        lead = [get_str(item, "namespace")] if all_namespaces else []
        if containers:
            for container in get_dicts(item, "containers"):
                cpu = format_top_cpu(_number(container.get("cpuMillicores")))
                memory = format_top_memory(_number(container.get("memoryBytes")))
                rows.append([*lead, get_str(item, "name"), get_str(container, "name"), cpu, memory])
        else:
            cpu = format_top_cpu(_number(item.get("cpuMillicores")))
            memory = format_top_memory(_number(item.get("memoryBytes")))
            rows.append([*lead, get_str(item, "name"), cpu, memory])
        cpu_sum += _number(item.get("cpuMillicores"))
        memory_sum += _number(item.get("memoryBytes"))
    if args.flag("sum"):
        padding = [""] * (len(headers) - 2)
        rows.append([*padding, "________", "________"])
        rows.append([*padding, format_top_cpu(cpu_sum), format_top_memory(memory_sum)])
    ctx.write(rows_to_table(rows, trailing_tab=True))
    return 0


def run_nodes(ctx: CommandContext, args: ParsedArgs) -> int:
    answer = ctx.client.request("GET", "/v1/top/nodes", query={"labelSelector": args.value("selector")})
    items = get_dicts(answer, "items")
    if args.positionals:
        wanted = args.positionals[0]
        items = [i for i in items if get_str(i, "name") == wanted]
        if not items:
            raise ApiStatusError(404, "NotFound", f'nodemetrics.metrics.k8s.io "{wanted}" not found')
    if not items:
        ctx.warn("No resources found")
        return 0
    items = _sort(items, args.text("sort-by"))
    rows: list[list[str]] = []
    if not args.flag("no-headers"):
        rows.append(["NAME", "CPU(cores)", "CPU%", "MEMORY(bytes)", "MEMORY%"])
    for item in items:
        rows.append(
            [
                get_str(item, "name"),
                format_top_cpu(_number(item.get("cpuMillicores"))),
                f"{int(_number(item.get('cpuPercent')))}%",
                format_top_memory(_number(item.get("memoryBytes"))),
                f"{int(_number(item.get('memoryPercent')))}%",
            ]
        )
    ctx.write(rows_to_table(rows, trailing_tab=True))
    return 0
