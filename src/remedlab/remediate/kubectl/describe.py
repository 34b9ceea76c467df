"""`kubectl describe`: one text block per object, as kubectl lays it out."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable

from remedlab.api.kinds import BY_PLURAL, KindInfo
from remedlab.remediate.kubectl.context import CommandContext
from remedlab.remediate.kubectl.describe_parts import (
    DescribeWriter,
    bool_text,
    controller_of,
    lower_bool_text,
    write_annotations,
    write_containers,
    write_events,
    write_labels,
    write_pod_template,
    write_tolerations,
    write_volumes,
)
from remedlab.remediate.kubectl.errors import ApiStatusError, CommandError
from remedlab.remediate.kubectl.fields import (
    JsonObject,
    dig,
    get_dict,
    get_dicts,
    get_int,
    get_list,
    get_str,
    name_of,
    namespace_of,
    str_map,
)
from remedlab.remediate.kubectl.flags import ParsedArgs
from remedlab.remediate.kubectl.humanize import format_rfc1123z, human_duration, seconds_since
from remedlab.remediate.kubectl.printers import creation_age, format_endpoints, node_roles
from remedlab.remediate.kubectl.quantities import format_bytes, format_cpu, millicores, parse_quantity
from remedlab.remediate.kubectl.resource_args import parse_resource_args
from remedlab.remediate.kubectl.selectors import format_label_selector, format_labels, selector_query

Events = list[JsonObject] | None
Describer = Callable[[CommandContext, JsonObject, Events], str]

REVISION_ANNOTATION = "deployment.kubernetes.io/revision"
TEMPLATE_HASH_LABEL = "pod-template-hash"


def run(ctx: CommandContext, args: ParsedArgs) -> int:
    requests = parse_resource_args(args.positionals)
    if not requests:
        raise CommandError(
            'You must specify the type of resource to describe. Use "kubectl api-resources" for a complete '
            "list of supported resources."
        )
    selector = args.value("selector")
    all_namespaces = args.flag("all-namespaces")
    show_events = args.flag("show-events", default=True)
    texts: list[str] = []
    errors: list[ApiStatusError] = []
    for request in requests:
        info = request.info
        objects: list[JsonObject] = []
        if request.names:
            for name in request.names:
                objects += _find_by_name_or_prefix(ctx, info, name, errors)
        else:
            namespace = None if all_namespaces else ctx.namespace
            objects = ctx.client.list_objects(info, namespace, label_selector=selector)
        for obj in objects:
            events = fetch_events(ctx, info, obj) if show_events else None
            texts.append(describe_object(ctx, info, obj, events))
    if texts:
        ctx.write("\n\n".join(texts))
    elif not errors:
        ctx.warn(ctx.no_resources_message(all_namespaces, any(r.info.namespaced for r in requests)))
    for error in errors:
        ctx.report(error)
    return 1 if errors else 0


def _find_by_name_or_prefix(
    ctx: CommandContext, info: KindInfo, name: str, errors: list[ApiStatusError]
) -> list[JsonObject]:
    try:
        return [ctx.client.get_object(info, ctx.namespace_for(info), name)]
    except ApiStatusError as exc:
        if not exc.not_found:
            errors.append(exc)
            return []
        candidates = ctx.client.list_objects(info, ctx.namespace if info.namespaced else None)
        matches = [obj for obj in candidates if name_of(obj).startswith(name)]
        if not matches:
            errors.append(exc)
        return matches


def fetch_events(ctx: CommandContext, info: KindInfo, obj: JsonObject) -> Events:
    """The events about `obj`, or None when they cannot be read."""
    name = name_of(obj)
    query = {
        "namespace": namespace_of(obj) or None if info.namespaced else None,
        "fieldSelector": f"involvedObject.name={name}",
    }
    try:
        answer = ctx.client.request("GET", "/v1/events", query=query)
    except ApiStatusError:
        return None
    uid = get_str(obj, "metadata", "uid")
    events: list[JsonObject] = []
    for event in get_dicts(answer, "items"):
        involved = get_dict(event, "involvedObject")
        if get_str(involved, "name") != name:
            continue
        if get_str(involved, "kind") and get_str(involved, "kind") != info.kind:
            continue
        if uid and get_str(involved, "uid") and get_str(involved, "uid") != uid:
            continue
        events.append(event)
    return events


def describe_object(ctx: CommandContext, info: KindInfo, obj: JsonObject, events: Events) -> str:
    describer = _DESCRIBERS.get(info.kind, _describe_generic)
    return describer(ctx, obj, events)


def _header(obj: JsonObject, namespaced: bool = True) -> DescribeWriter:
    """A writer for the description of `obj`, opened with its name (and namespace)."""
    w = DescribeWriter()
    w.write(0, f"Name:\t{name_of(obj)}\n")
    if namespaced:
        w.write(0, f"Namespace:\t{namespace_of(obj)}\n")
    return w


def _write_metadata(w: DescribeWriter, obj: JsonObject) -> None:
    """The Labels and Annotations sections of `obj`."""
    write_labels(w, "Labels", str_map(obj, "metadata", "labels"))
    write_annotations(w, "Annotations", str_map(obj, "metadata", "annotations"))


# ---------------------------------------------------------------------- pods


def _qos_class(pod: JsonObject) -> str:
    declared = get_str(pod, "status", "qosClass")
    if declared:
        return declared
    containers = get_dicts(pod, "spec", "containers")
    any_set = False
    guaranteed = bool(containers)
    for container in containers:
        limits = str_map(container, "resources", "limits")
        requests = str_map(container, "resources", "requests") or limits
        any_set = any_set or bool(limits) or bool(requests)
        for resource in ("cpu", "memory"):
            if resource not in limits or requests.get(resource) != limits.get(resource):
                guaranteed = False
    if guaranteed:
        return "Guaranteed"
    return "Burstable" if any_set else "BestEffort"


def _describe_pod(ctx: CommandContext, pod: JsonObject, events: Events) -> str:
    spec = get_dict(pod, "spec")
    status = get_dict(pod, "status")
    w = _header(pod)
    if dig(spec, "priority") is not None:
        w.write(0, f"Priority:\t{get_int(spec, 'priority')}\n")
    w.write_if(0, "Priority Class Name", get_str(spec, "priorityClassName"))
    w.write_if(0, "Service Account", get_str(spec, "serviceAccountName"))
    node = get_str(spec, "nodeName")
    w.write(0, f"Node:\t{node}/{get_str(status, 'hostIP')}\n" if node else "Node:\t<none>\n")
    if get_str(status, "startTime"):
        w.write(0, f"Start Time:\t{format_rfc1123z(get_str(status, 'startTime'))}\n")
    _write_metadata(w, pod)
    phase = get_str(status, "phase") or "Pending"
    deletion = dig(pod, "metadata", "deletionTimestamp")
    if deletion is not None and phase not in ("Failed", "Succeeded"):
        remaining = seconds_since(deletion, ctx.now)
        lasts = human_duration(-remaining) if remaining is not None else "<unknown>"
        w.write(0, f"Status:\tTerminating (lasts {lasts})\n")
        w.write(0, f"Termination Grace Period:\t{get_int(pod, 'metadata', 'deletionGracePeriodSeconds')}s\n")
    else:
        w.write(0, f"Status:\t{phase}\n")
    w.write_if(0, "Reason", get_str(status, "reason"))
    w.write_if(0, "Message", get_str(status, "message"))
    w.write(0, f"IP:\t{get_str(status, 'podIP')}\n")
    pod_ips = [get_str(ip, "ip") for ip in get_dicts(status, "podIPs")]
    if not pod_ips and get_str(status, "podIP"):
        pod_ips = [get_str(status, "podIP")]
    if pod_ips:
        w.write(0, "IPs:\n")
        for ip in pod_ips:
            w.write(1, f"IP:\t{ip}\n")
    else:
        w.write(0, "IPs:\t<none>\n")
    w.write_if(0, "Controlled By", controller_of(pod))
    w.write_if(0, "NominatedNodeName", get_str(status, "nominatedNodeName"))
    if get_dicts(spec, "initContainers"):
        write_containers(
            w, "Init Containers", get_dicts(spec, "initContainers"), get_dicts(status, "initContainerStatuses")
        )
    write_containers(w, "Containers", get_dicts(spec, "containers"), get_dicts(status, "containerStatuses"))
    conditions = get_dicts(status, "conditions")
    if conditions:
        w.write(0, "Conditions:\n  Type\tStatus\n")
        for condition in conditions:
            w.write(1, f"{get_str(condition, 'type')} \t{get_str(condition, 'status')} \n")
    write_volumes(w, get_dicts(spec, "volumes"))
    w.write(0, f"QoS Class:\t{_qos_class(pod)}\n")
    write_labels(w, "Node-Selectors", str_map(spec, "nodeSelector"))
    write_tolerations(w, "Tolerations", get_dicts(spec, "tolerations"))
    write_events(w, events, ctx.now)
    return w.render()


# ---------------------------------------------------------------------- workloads


def _owned_replicasets(ctx: CommandContext, deployment: JsonObject) -> list[JsonObject]:
    info = BY_PLURAL["replicasets"]
    selector = selector_query(get_dict(deployment, "spec", "selector"))
    try:
        candidates = ctx.client.list_objects(info, namespace_of(deployment), label_selector=selector or None)
    except ApiStatusError:
        return []
    name = name_of(deployment)
    owned = []
    for rs in candidates:
        owners = get_dicts(rs, "metadata", "ownerReferences")
        if not owners or any(get_str(o, "kind") == "Deployment" and get_str(o, "name") == name for o in owners):
            owned.append(rs)
    return owned


def _template_without_hash(template: JsonObject) -> JsonObject:
    labels = {k: v for k, v in str_map(template, "metadata", "labels").items() if k != TEMPLATE_HASH_LABEL}
    metadata = dict(get_dict(template, "metadata"))
    metadata["labels"] = labels
    metadata.pop("creationTimestamp", None)
    return {"metadata": metadata, "spec": get_dict(template, "spec")}


def split_replicasets(
    deployment: JsonObject, replicasets: list[JsonObject]
) -> tuple[JsonObject | None, list[JsonObject]]:
    """(the new replica set, the old ones) of a deployment."""
    revision = get_str(deployment, "metadata", "annotations", REVISION_ANNOTATION)
    new: JsonObject | None = None
    if revision:
        for rs in replicasets:
            if get_str(rs, "metadata", "annotations", REVISION_ANNOTATION) == revision:
                new = rs
    if new is None:
        wanted = _template_without_hash(get_dict(deployment, "spec", "template"))
        for rs in replicasets:
            if _template_without_hash(get_dict(rs, "spec", "template")) == wanted:
                new = rs
    old = [rs for rs in replicasets if rs is not new]
    return new, old


def _replicaset_summary(replicasets: list[JsonObject]) -> str:
    parts = [
        f"{name_of(rs)} ({get_int(rs, 'status', 'replicas')}/{get_int(rs, 'spec', 'replicas', default=1)} "
        "replicas created)"
        for rs in replicasets
    ]
    return ", ".join(parts) if parts else "<none>"


def _describe_deployment(ctx: CommandContext, deployment: JsonObject, events: Events) -> str:
    spec = get_dict(deployment, "spec")
    status = get_dict(deployment, "status")
    w = _header(deployment)
    w.write(0, f"CreationTimestamp:\t{format_rfc1123z(dig(deployment, 'metadata', 'creationTimestamp'))}\n")
    _write_metadata(w, deployment)
    w.write(0, f"Selector:\t{format_label_selector(get_dict(spec, 'selector'))}\n")
    w.write(
        0,
        f"Replicas:\t{get_int(spec, 'replicas', default=1)} desired | {get_int(status, 'updatedReplicas')} updated | "
        f"{get_int(status, 'replicas')} total | {get_int(status, 'availableReplicas')} available | "
        f"{get_int(status, 'unavailableReplicas')} unavailable\n",
    )
    strategy = get_dict(spec, "strategy")
    w.write(0, f"StrategyType:\t{get_str(strategy, 'type') or 'RollingUpdate'}\n")
    w.write(0, f"MinReadySeconds:\t{get_int(spec, 'minReadySeconds')}\n")
    rolling = get_dict(strategy, "rollingUpdate")
    if rolling:
        w.write(
            0,
            f"RollingUpdateStrategy:\t{get_str(rolling, 'maxUnavailable', default='25%')} max unavailable, "
            f"{get_str(rolling, 'maxSurge', default='25%')} max surge\n",
        )
    write_pod_template(w, get_dict(spec, "template"))
    conditions = get_dicts(status, "conditions")
    if conditions:
        w.write(0, "Conditions:\n  Type\tStatus\tReason\n")
        w.write(1, "----\t------\t------\n")
        for condition in conditions:
            w.write(
                1,
                f"{get_str(condition, 'type')} \t{get_str(condition, 'status')}\t{get_str(condition, 'reason')}\n",
            )
    new, old = split_replicasets(deployment, _owned_replicasets(ctx, deployment))
    old_active = [rs for rs in old if get_int(rs, "spec", "replicas", default=1) != 0]
    w.write(0, f"OldReplicaSets:\t{_replicaset_summary(old_active)}\n")
    w.write(0, f"NewReplicaSet:\t{_replicaset_summary([new] if new is not None else [])}\n")
    write_events(w, events, ctx.now)
    return w.render()


def _describe_replicaset(ctx: CommandContext, rs: JsonObject, events: Events) -> str:
    spec = get_dict(rs, "spec")
    w = _header(rs)
    w.write(0, f"Selector:\t{format_label_selector(get_dict(spec, 'selector'))}\n")
    _write_metadata(w, rs)
    w.write_if(0, "Controlled By", controller_of(rs))
    w.write(
        0, f"Replicas:\t{get_int(rs, 'status', 'replicas')} current / {get_int(spec, 'replicas', default=1)} desired\n"
    )
    counts = {"Running": 0, "Pending": 0, "Succeeded": 0, "Failed": 0}
    try:
        pods = ctx.client.list_objects(
            BY_PLURAL["pods"], namespace_of(rs), label_selector=selector_query(get_dict(spec, "selector")) or None
        )
        for pod in pods:
            owners = get_dicts(pod, "metadata", "ownerReferences")
            if owners and not any(get_str(o, "name") == name_of(rs) for o in owners):
                continue
            phase = get_str(pod, "status", "phase")
            if phase in counts:
                counts[phase] += 1
        w.write(
            0,
            f"Pods Status:\t{counts['Running']} Running / {counts['Pending']} Waiting / "
            f"{counts['Succeeded']} Succeeded / {counts['Failed']} Failed\n",
        )
    except ApiStatusError as exc:
        w.write(0, f"Pods Status:\terror in fetching pods: {exc.message}\n")
    write_pod_template(w, get_dict(spec, "template"))
    write_events(w, events, ctx.now)
    return w.render()


# ---------------------------------------------------------------------- services


def _describe_service(ctx: CommandContext, service: JsonObject, events: Events) -> str:
    spec = get_dict(service, "spec")
    w = _header(service)
    _write_metadata(w, service)
    w.write(0, f"Selector:\t{format_labels(str_map(spec, 'selector'))}\n")
    w.write(0, f"Type:\t{get_str(spec, 'type') or 'ClusterIP'}\n")
    w.write_if(0, "IP Family Policy", get_str(spec, "ipFamilyPolicy"))
    families = [str(f) for f in get_list(spec, "ipFamilies")]
    w.write(0, f"IP Families:\t{','.join(families) if families else '<none>'}\n")
    w.write(0, f"IP:\t{get_str(spec, 'clusterIP')}\n")
    cluster_ips = [str(ip) for ip in get_list(spec, "clusterIPs")]
    w.write(0, f"IPs:\t{','.join(cluster_ips) if cluster_ips else '<none>'}\n")
    if get_list(spec, "externalIPs"):
        w.write(0, f"External IPs:\t{','.join(str(ip) for ip in get_list(spec, 'externalIPs'))}\n")
    w.write_if(0, "External Name", get_str(spec, "externalName"))
    endpoints: JsonObject = {}
    try:
        endpoints = ctx.client.get_object(BY_PLURAL["endpoints"], namespace_of(service), name_of(service))
    except ApiStatusError:
        endpoints = {}
    for port in get_dicts(spec, "ports"):
        name = get_str(port, "name")
        protocol = get_str(port, "protocol") or "TCP"
        w.write(0, f"Port:\t{name or '<unset>'}\t{get_int(port, 'port')}/{protocol}\n")
        target = dig(port, "targetPort")
        target_text = str(get_int(port, "port")) if target is None else str(target)
        w.write(0, f"TargetPort:\t{target_text}/{protocol}\n")
        if get_int(port, "nodePort"):
            w.write(0, f"NodePort:\t{name or '<unset>'}\t{get_int(port, 'nodePort')}/{protocol}\n")
        w.write(
            0,
            f"Endpoints:\t{format_endpoints(endpoints, port_name=name, limit=1_000_000) if endpoints else '<none>'}\n",
        )
    w.write(0, f"Session Affinity:\t{get_str(spec, 'sessionAffinity') or 'None'}\n")
    w.write_if(0, "Internal Traffic Policy", get_str(spec, "internalTrafficPolicy"))
    write_events(w, events, ctx.now)
    return w.render()


# ---------------------------------------------------------------------- nodes


def _pod_totals(pod: JsonObject) -> tuple[int, int, int, int]:
    """(cpu requests m, cpu limits m, memory requests bytes, memory limits bytes) of a pod."""
    totals = [0, 0, 0, 0]
    for container in get_dicts(pod, "spec", "containers"):
        requests = str_map(container, "resources", "requests")
        limits = str_map(container, "resources", "limits")
        if not requests:
            requests = limits
        for index, (values, resource) in enumerate(
            ((requests, "cpu"), (limits, "cpu"), (requests, "memory"), (limits, "memory"))
        ):
            raw = values.get(resource)
            if raw is None:
                continue
            try:
                totals[index] += millicores(raw) if resource == "cpu" else int(parse_quantity(raw))
            except ValueError:
                continue
    return totals[0], totals[1], totals[2], totals[3]


def _percent(part: int, whole: int) -> int:
    return int(part / whole * 100) if whole else 0


def _describe_node(ctx: CommandContext, node: JsonObject, events: Events) -> str:
    status = get_dict(node, "status")
    w = _header(node, namespaced=False)
    w.write(0, f"Roles:\t{','.join(node_roles(node)) or '<none>'}\n")
    _write_metadata(w, node)
    w.write(0, f"CreationTimestamp:\t{format_rfc1123z(dig(node, 'metadata', 'creationTimestamp'))}\n")
    taints = get_dicts(node, "spec", "taints")
    w.write(0, "Taints:\t")
    if not taints:
        w.line("<none>")
    for index, taint in enumerate(taints):
        value = get_str(taint, "value")
        text = get_str(taint, "key") + (f"={value}" if value else "") + f":{get_str(taint, 'effect')}"
        w.write(0, ("\t" if index else "") + text + "\n")
    w.write(0, f"Unschedulable:\t{lower_bool_text(dig(node, 'spec', 'unschedulable') is True)}\n")
    conditions = get_dicts(status, "conditions")
    if conditions:
        w.write(0, "Conditions:\n  Type\tStatus\tLastHeartbeatTime\tLastTransitionTime\tReason\tMessage\n")
        w.write(1, "----\t------\t-----------------\t------------------\t------\t-------\n")
        for c in conditions:
            w.write(
                1,
                f"{get_str(c, 'type')} \t{get_str(c, 'status')} \t{format_rfc1123z(dig(c, 'lastHeartbeatTime'))} \t"
                f"{format_rfc1123z(dig(c, 'lastTransitionTime'))} \t{get_str(c, 'reason')} \t{get_str(c, 'message')}\n",
            )
    w.write(0, "Addresses:\n")
    for address in get_dicts(status, "addresses"):
        w.write(1, f"{get_str(address, 'type')}:\t{get_str(address, 'address')}\n")
    for title, key in (("Capacity", "capacity"), ("Allocatable", "allocatable")):
        values = str_map(status, key)
        if values:
            w.write(0, f"{title}:\n")
            for resource in sorted(values):
                w.write(0, f"  {resource}:\t{values[resource]}\n")
    info = str_map(status, "nodeInfo")
    w.write(0, "System Info:\n")
    for title, key in (
        ("Machine ID", "machineID"),
        ("System UUID", "systemUUID"),
        ("Boot ID", "bootID"),
        ("Kernel Version", "kernelVersion"),
        ("OS Image", "osImage"),
        ("Operating System", "operatingSystem"),
        ("Architecture", "architecture"),
        ("Container Runtime Version", "containerRuntimeVersion"),
        ("Kubelet Version", "kubeletVersion"),
        ("Kube-Proxy Version", "kubeProxyVersion"),
    ):
        w.write(0, f"  {title}:\t{info.get(key, '')}\n")
    w.write_if(0, "PodCIDR", get_str(node, "spec", "podCIDR"))
    _write_node_pods(ctx, w, node)
    write_events(w, events, ctx.now)
    return w.render()


def _write_node_pods(ctx: CommandContext, w: DescribeWriter, node: JsonObject) -> None:
    try:
        pods = ctx.client.list_objects(BY_PLURAL["pods"], None, field_selector=f"spec.nodeName={name_of(node)}")
    except ApiStatusError:
        w.write(0, "Pods:\tnot authorized\n")
        return
    pods = [
        p
        for p in pods
        if get_str(p, "spec", "nodeName") in ("", name_of(node))
        and get_str(p, "status", "phase") not in ("Succeeded", "Failed")
    ]
    allocatable = str_map(node, "status", "allocatable") or str_map(node, "status", "capacity")
    try:
        cpu_total = millicores(allocatable.get("cpu", "0"))
        memory_total = int(parse_quantity(allocatable.get("memory", "0")))
    except ValueError:
        cpu_total, memory_total = 0, 0
    w.write(0, f"Non-terminated Pods:\t({len(pods)} in total)\n")
    w.write(1, "Namespace\tName\t\tCPU Requests\tCPU Limits\tMemory Requests\tMemory Limits\tAge\n")
    w.write(1, "---------\t----\t\t------------\t----------\t---------------\t-------------\t---\n")
    sums = [0, 0, 0, 0]
    for pod in pods:
        cpu_req, cpu_lim, mem_req, mem_lim = _pod_totals(pod)
        for index, value in enumerate((cpu_req, cpu_lim, mem_req, mem_lim)):
            sums[index] += value
        w.write(
            1,
            f"{namespace_of(pod)}\t{name_of(pod)}\t\t"
            f"{format_cpu(cpu_req)} ({_percent(cpu_req, cpu_total)}%)\t"
            f"{format_cpu(cpu_lim)} ({_percent(cpu_lim, cpu_total)}%)\t"
            f"{format_bytes(mem_req)} ({_percent(mem_req, memory_total)}%)\t"
            f"{format_bytes(mem_lim)} ({_percent(mem_lim, memory_total)}%)\t"
            f"{creation_age(pod, ctx.now)}\n",
        )
    w.write(0, "Allocated resources:\n  (Total limits may be over 100 percent, i.e., overcommitted.)\n")
    w.write(1, "Resource\tRequests\tLimits\n")
    w.write(1, "--------\t--------\t------\n")
    w.write(
        1,
        f"cpu\t{format_cpu(sums[0])} ({_percent(sums[0], cpu_total)}%)\t"
        f"{format_cpu(sums[1])} ({_percent(sums[1], cpu_total)}%)\n",
    )
    w.write(
        1,
        f"memory\t{format_bytes(sums[2])} ({_percent(sums[2], memory_total)}%)\t"
        f"{format_bytes(sums[3])} ({_percent(sums[3], memory_total)}%)\n",
    )
    w.write(1, "ephemeral-storage\t0 (0%)\t0 (0%)\n")


# ---------------------------------------------------------------------- configuration and others


def _describe_configmap(ctx: CommandContext, cm: JsonObject, events: Events) -> str:
    w = _header(cm)
    _write_metadata(w, cm)
    w.write(0, "\nData\n====\n")
    data = str_map(cm, "data")
    for key in sorted(data):
        w.write(0, f"{key}:\n----\n")
        w.write(0, f"{data[key]}\n")
        w.write(0, "\n")
    w.write(0, "\nBinaryData\n====\n")
    binary = str_map(cm, "binaryData")
    for key in sorted(binary):
        w.write(0, f"{key}: {len(_decoded(binary[key]))} bytes\n")
    w.write(0, "\n")
    write_events(w, events, ctx.now)
    return w.render()


def _decoded(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=False)
    except (binascii.Error, ValueError):
        return text.encode()


def _describe_secret(ctx: CommandContext, secret: JsonObject, events: Events) -> str:
    w = _header(secret)
    _write_metadata(w, secret)
    w.write(0, f"\nType:\t{get_str(secret, 'type') or 'Opaque'}\n")
    w.write(0, "\nData\n====\n")
    data = str_map(secret, "data")
    for key in sorted(data):
        w.write(0, f"{key}:\t{len(_decoded(data[key]))} bytes\n")
    string_data = str_map(secret, "stringData")
    for key in sorted(string_data):
        w.write(0, f"{key}:\t{len(string_data[key].encode())} bytes\n")
    return w.render()


def _describe_namespace(ctx: CommandContext, ns: JsonObject, events: Events) -> str:
    w = _header(ns, namespaced=False)
    _write_metadata(w, ns)
    w.write(0, f"Status:\t{get_str(ns, 'status', 'phase') or 'Active'}\n")
    w.write(0, "\nNo resource quota.\n\nNo LimitRange resource.\n")
    return w.render()


def _describe_endpoints(ctx: CommandContext, ep: JsonObject, events: Events) -> str:
    w = _header(ep)
    _write_metadata(w, ep)
    w.write(0, "Subsets:\n")
    for subset in get_dicts(ep, "subsets"):
        ready = ",".join(get_str(a, "ip") for a in get_dicts(subset, "addresses"))
        not_ready = ",".join(get_str(a, "ip") for a in get_dicts(subset, "notReadyAddresses"))
        w.write(1, f"Addresses:\t{ready or '<none>'}\n")
        w.write(1, f"NotReadyAddresses:\t{not_ready or '<none>'}\n")
        w.write(1, "Ports:\n")
        w.write(2, "Name\tPort\tProtocol\n")
        w.write(2, "----\t----\t--------\n")
        for port in get_dicts(subset, "ports"):
            port_name = get_str(port, "name") or "<unset>"
            w.write(2, f"{port_name}\t{get_int(port, 'port')}\t{get_str(port, 'protocol') or 'TCP'}\n")
        w.write(0, "\n")
    write_events(w, events, ctx.now)
    return w.render()


def _describe_generic(ctx: CommandContext, obj: JsonObject, events: Events) -> str:
    namespaced = bool(namespace_of(obj))
    w = _header(obj, namespaced=namespaced)
    _write_metadata(w, obj)
    for key in ("type", "reason", "message"):
        if isinstance(obj.get(key), str):
            w.write(0, f"{key.capitalize()}:\t{obj[key]}\n")
    status = get_dict(obj, "status")
    w.write_if(0, "Status", get_str(status, "phase"))
    if get_dict(obj, "involvedObject"):
        involved = get_dict(obj, "involvedObject")
        w.write(0, "Involved Object:\n")
        w.write(1, f"Kind:\t{get_str(involved, 'kind')}\n")
        w.write(1, f"Name:\t{get_str(involved, 'name')}\n")
        w.write(1, f"Namespace:\t{get_str(involved, 'namespace')}\n")
    if get_dict(obj, "spec", "resources", "requests"):
        requests = str_map(obj, "spec", "resources", "requests")
        w.write(0, "Requests:\n")
        for resource in sorted(requests):
            w.write(1, f"{resource}:\t{requests[resource]}\n")
    if get_list(obj, "spec", "accessModes"):
        w.write(0, f"Access Modes:\t{','.join(str(m) for m in get_list(obj, 'spec', 'accessModes'))}\n")
    w.write_if(0, "VolumeMode", get_str(obj, "spec", "volumeMode"))
    if dig(obj, "metadata", "deletionTimestamp") is not None:
        w.write(0, f"Terminating:\t{bool_text(True)}\n")
    write_events(w, events, ctx.now)
    return w.render()


_DESCRIBERS: dict[str, Describer] = {
    "Pod": _describe_pod,
    "Deployment": _describe_deployment,
    "ReplicaSet": _describe_replicaset,
    "Service": _describe_service,
    "Node": _describe_node,
    "ConfigMap": _describe_configmap,
    "Secret": _describe_secret,
    "Namespace": _describe_namespace,
    "Endpoints": _describe_endpoints,
}
