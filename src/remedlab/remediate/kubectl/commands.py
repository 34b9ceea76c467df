"""The commands this kubectl knows: their flags, handlers and one-line help."""

from __future__ import annotations

from dataclasses import dataclass, field

from remedlab.remediate.kubectl.flags import Flag, bool_flag, multi_flag, value_flag


@dataclass(frozen=True)
class CommandSpec:
    path: str
    module: str
    function: str
    summary: str
    usage: str
    flags: tuple[Flag, ...] = ()


@dataclass(frozen=True)
class CommandGroup:
    """A command whose first argument names a sub-command (`rollout status`, `set env`)."""

    path: str
    summary: str
    subcommands: dict[str, CommandSpec] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)

    def lookup(self, word: str) -> CommandSpec | None:
        return self.subcommands.get(self.aliases.get(word, word))


def _ignored_value(name: str) -> Flag:
    """A value flag of kubectl's that this CLI accepts and ignores."""
    return value_flag(name, help="Accepted and ignored")


def _ignored_bool(name: str, short: str = "") -> Flag:
    """A boolean flag of kubectl's that this CLI accepts and ignores."""
    return bool_flag(name, short, "Accepted and ignored")


GLOBAL_FLAGS: tuple[Flag, ...] = (
    value_flag("namespace", "n", "If present, the namespace scope for this CLI request", "default"),
    value_flag("server", "s", "The address of the remedlab server (default $REMEDLAB_SERVER)"),
    value_flag("token", help="Bearer token for authentication to the server (default $REMEDLAB_TOKEN)"),
    value_flag("request-timeout", help="How long to wait for a single server request (e.g. 30s)", default="30s"),
    value_flag("kubeconfig", help="Accepted and ignored: remedlab has a single cluster"),
    value_flag("context", help="Accepted and ignored: remedlab has a single context"),
    _ignored_value("cluster"),
    _ignored_value("user"),
    value_flag("v", "v", "Accepted and ignored: log level"),
    _ignored_bool("insecure-skip-tls-verify"),
    bool_flag("help", "h", "Help for this command"),
)

_ALL_NAMESPACES = bool_flag("all-namespaces", "A", "List the requested objects across all namespaces")
_SELECTOR = value_flag("selector", "l", "Selector (label query) to filter on, e.g. -l app=web,tier!=db")
_FIELD_SELECTOR = value_flag("field-selector", help="Selector (field query), e.g. status.phase=Running")
_OUTPUT = value_flag("output", "o", "Output format: json|yaml|name|wide|jsonpath=...|custom-columns=...")
_NO_HEADERS = bool_flag("no-headers", help="Don't print headers")
_CONTAINER = value_flag("container", "c", "Container name")
_FILENAME = multi_flag("filename", "f", "File, directory or - (stdin) holding the manifests")
_RECURSIVE = bool_flag("recursive", "R", "Process the directory used in -f recursively")
_DRY_RUN = value_flag("dry-run", help="none|client|server: only validate, do not persist")
_TIMEOUT = value_flag("timeout", help="How long to wait (e.g. 60s, 5m)")
_ALL = bool_flag("all", help="Select all resources of the type in the namespace")
_WATCH_UNSUPPORTED = bool_flag("watch", "w", "Not supported")
_POD_RUNNING_TIMEOUT = _ignored_value("pod-running-timeout")
_TOP_SORT_BY = value_flag("sort-by", help="cpu or memory")
_PROTOCOL_BUFFERS = _ignored_bool("use-protocol-buffers")
_VALIDATE = _ignored_value("validate")
_MANIFEST_FLAGS = (_FILENAME, _RECURSIVE, _DRY_RUN, _OUTPUT)

_GET_FLAGS = (
    _ALL_NAMESPACES,
    _SELECTOR,
    _FIELD_SELECTOR,
    _OUTPUT,
    _NO_HEADERS,
    value_flag("sort-by", help="Sort list by a JSONPath expression, e.g. .metadata.creationTimestamp"),
    bool_flag("show-labels", help="Show all labels as the last column"),
    bool_flag("show-kind", help="List the resource type for each object"),
    multi_flag("label-columns", "L", "Labels to present as columns, e.g. -L app,tier"),
    bool_flag("ignore-not-found", help="Treat 'resource not found' as a successful retrieval"),
    _ignored_value("chunk-size"),
    _WATCH_UNSUPPORTED,
    bool_flag("watch-only", help="Not supported"),
)

COMMANDS: dict[str, CommandSpec | CommandGroup] = {
    "get": CommandSpec(
        "get",
        "cmd_get",
        "run",
        "Display one or many resources",
        "kubectl get TYPE[,TYPE...] [NAME...] | TYPE/NAME... [flags]",
        _GET_FLAGS,
    ),
    "events": CommandSpec(
        "events",
        "cmd_get",
        "run_events",
        "List events, oldest first",
        "kubectl events [--for TYPE/NAME] [--types=Warning] [flags]",
        (
            _ALL_NAMESPACES,
            _OUTPUT,
            _NO_HEADERS,
            value_flag("for", help="Only events about this object, e.g. --for pod/web-1"),
            value_flag("types", help="Only events of these types, e.g. --types=Warning,Normal"),
            _WATCH_UNSUPPORTED,
        ),
    ),
    "describe": CommandSpec(
        "describe",
        "describe",
        "run",
        "Show details of a specific resource or group of resources",
        "kubectl describe TYPE [NAME_PREFIX] | TYPE/NAME [-l selector] [flags]",
        (
            _ALL_NAMESPACES,
            _SELECTOR,
            bool_flag("show-events", help="Show the events of the object", default="true"),
        ),
    ),
    "logs": CommandSpec(
        "logs",
        "cmd_logs",
        "run",
        "Print the logs for a container in a pod",
        "kubectl logs POD | TYPE/NAME [-c CONTAINER] [--tail=N] [--previous] [--since=5m] [flags]",
        (
            _CONTAINER,
            _SELECTOR,
            value_flag("tail", help="Lines of recent log file to display (-1 for all)", default="-1"),
            bool_flag("previous", "p", "Print the logs of the previous instance of the container"),
            value_flag("since", help="Only logs newer than a relative duration like 5s, 2m, or 3h"),
            value_flag("since-time", help="Only logs after an RFC3339 date"),
            bool_flag("timestamps", help="Include timestamps on each line"),
            bool_flag("all-containers", help="Get all containers' logs in the pod(s)"),
            bool_flag("prefix", help="Prefix each log line with the pod and container name"),
            value_flag("limit-bytes", help="Maximum bytes of logs to return"),
            value_flag("max-log-requests", help="Maximum number of pods followed with a selector", default="5"),
            _ignored_bool("ignore-errors"),
            _POD_RUNNING_TIMEOUT,
            bool_flag("follow", "f", "Not supported"),
        ),
    ),
    "exec": CommandSpec(
        "exec",
        "cmd_exec",
        "run",
        "Execute a command in a container",
        "kubectl exec POD | TYPE/NAME [-c CONTAINER] [-i] [-t] -- COMMAND [args...]",
        (
            _CONTAINER,
            bool_flag("stdin", "i", "Pass stdin to the container"),
            _ignored_bool("tty", "t"),
            bool_flag("quiet", "q", "Only print output from the remote session"),
            _POD_RUNNING_TIMEOUT,
        ),
    ),
    "top": CommandGroup(
        "top",
        "Display resource (CPU/memory) usage",
        {
            "pod": CommandSpec(
                "top pod",
                "cmd_top",
                "run_pods",
                "Display resource (CPU/memory) usage of pods",
                "kubectl top pod [NAME | -l label] [--containers] [flags]",
                (
                    _ALL_NAMESPACES,
                    _SELECTOR,
                    _NO_HEADERS,
                    bool_flag("containers", help="Print usage of containers within a pod"),
                    _TOP_SORT_BY,
                    bool_flag("sum", help="Print the sum of the resource usage"),
                    _ignored_value("field-selector"),
                    _PROTOCOL_BUFFERS,
                ),
            ),
            "node": CommandSpec(
                "top node",
                "cmd_top",
                "run_nodes",
                "Display resource (CPU/memory) usage of nodes",
                "kubectl top node [NAME] [flags]",
                (
                    _SELECTOR,
                    _NO_HEADERS,
                    _TOP_SORT_BY,
                    bool_flag("show-capacity", help="Show capacity instead of allocatable"),
                    _PROTOCOL_BUFFERS,
                ),
            ),
        },
        {"pods": "pod", "po": "pod", "nodes": "node", "no": "node"},
    ),
    "rollout": CommandGroup(
        "rollout",
        "Manage the rollout of a deployment",
        {
            "restart": CommandSpec(
                "rollout restart",
                "cmd_rollout",
                "run_restart",
                "Restart a deployment",
                "kubectl rollout restart deployment/NAME | deployment NAME",
                (_SELECTOR,),
            ),
            "undo": CommandSpec(
                "rollout undo",
                "cmd_rollout",
                "run_undo",
                "Roll back to a previous rollout",
                "kubectl rollout undo deployment/NAME [--to-revision=N]",
                (value_flag("to-revision", help="The revision to roll back to (0 = previous)", default="0"),),
            ),
            "status": CommandSpec(
                "rollout status",
                "cmd_rollout",
                "run_status",
                "Show the status of the rollout",
                "kubectl rollout status deployment/NAME [--timeout=5m] [--watch=false]",
                (
                    _TIMEOUT,
                    bool_flag("watch", "w", "Watch the status of the rollout until it's done", default="true"),
                    _ignored_value("revision"),
                ),
            ),
            "history": CommandSpec(
                "rollout history",
                "cmd_rollout",
                "run_history",
                "View rollout history",
                "kubectl rollout history deployment/NAME [--revision=N]",
                (value_flag("revision", help="See the details of this revision"),),
            ),
            "pause": CommandSpec(
                "rollout pause",
                "cmd_rollout",
                "run_pause",
                "Mark the deployment as paused",
                "kubectl rollout pause deployment/NAME",
            ),
            "resume": CommandSpec(
                "rollout resume",
                "cmd_rollout",
                "run_resume",
                "Resume a paused deployment",
                "kubectl rollout resume deployment/NAME",
            ),
        },
    ),
    "scale": CommandSpec(
        "scale",
        "cmd_patch",
        "run_scale",
        "Set a new size for a deployment or replica set",
        "kubectl scale deployment/NAME --replicas=N",
        (
            value_flag("replicas", help="The new desired number of replicas"),
            value_flag("current-replicas", help="Precondition for current size", default="-1"),
            _SELECTOR,
            _ALL,
            _TIMEOUT,
        ),
    ),
    "set": CommandGroup(
        "set",
        "Set specific features on objects",
        {
            "env": CommandSpec(
                "set env",
                "cmd_set",
                "run_env",
                "Update environment variables on a pod template",
                "kubectl set env deployment/NAME KEY=VAL ... [KEY-] [-c CONTAINER]",
                (
                    _CONTAINER,
                    multi_flag("env", "e", "Environment variable to set, KEY=VAL"),
                    bool_flag("overwrite", help="Accepted (always true)", default="true"),
                    bool_flag("list", help="List the environment variables of the containers"),
                    _SELECTOR,
                    _ALL,
                ),
            ),
            "image": CommandSpec(
                "set image",
                "cmd_set",
                "run_image",
                "Update the image of a pod template",
                "kubectl set image deployment/NAME CONTAINER=IMAGE ...",
                (_SELECTOR, _ALL),
            ),
            "resources": CommandSpec(
                "set resources",
                "cmd_set",
                "run_resources",
                "Update resource requests/limits on a pod template",
                "kubectl set resources deployment/NAME [-c C] --limits=cpu=200m,memory=512Mi --requests=...",
                (
                    _CONTAINER,
                    value_flag("limits", help="The resource limits, e.g. cpu=200m,memory=512Mi"),
                    value_flag("requests", help="The resource requests, e.g. cpu=100m,memory=256Mi"),
                    _SELECTOR,
                    _ALL,
                ),
            ),
        },
    ),
    "patch": CommandSpec(
        "patch",
        "cmd_patch",
        "run_patch",
        "Update fields of a resource",
        "kubectl patch TYPE NAME -p PATCH [--type strategic|merge|json]",
        (
            value_flag("patch", "p", "The patch, as JSON or YAML"),
            value_flag("patch-file", help="A file holding the patch"),
            value_flag("type", help="strategic (default), merge or json", default="strategic"),
        ),
    ),
    "label": CommandSpec(
        "label",
        "cmd_patch",
        "run_label",
        "Update the labels on a resource",
        "kubectl label TYPE NAME KEY=VAL ... [KEY-] [--overwrite]",
        (bool_flag("overwrite", help="Allow overwriting existing labels"), _SELECTOR, _ALL),
    ),
    "annotate": CommandSpec(
        "annotate",
        "cmd_patch",
        "run_annotate",
        "Update the annotations on a resource",
        "kubectl annotate TYPE NAME KEY=VAL ... [KEY-] [--overwrite]",
        (bool_flag("overwrite", help="Allow overwriting existing annotations"), _SELECTOR, _ALL),
    ),
    "cordon": CommandSpec("cordon", "cmd_patch", "run_cordon", "Mark node as unschedulable", "kubectl cordon NODE"),
    "uncordon": CommandSpec(
        "uncordon", "cmd_patch", "run_uncordon", "Mark node as schedulable", "kubectl uncordon NODE"
    ),
    "apply": CommandSpec(
        "apply",
        "cmd_apply",
        "run_apply",
        "Apply a configuration to resources from files or stdin",
        "kubectl apply -f FILE|DIR|- [-n NAMESPACE]",
        (
            *_MANIFEST_FLAGS,
            value_flag("validate", help="Accepted and ignored (the server always validates)"),
            _ignored_bool("server-side"),
            _ignored_bool("force"),
            _ignored_value("field-manager"),
        ),
    ),
    "create": CommandSpec(
        "create",
        "cmd_apply",
        "run_create",
        "Create resources from files, or a namespace/configmap/secret/deployment",
        "kubectl create -f FILE | namespace NAME | configmap NAME --from-literal=k=v | "
        "secret generic NAME --from-literal=k=v | deployment NAME --image=IMAGE",
        (
            *_MANIFEST_FLAGS,
            multi_flag("from-literal", help="key=value pair (configmap, secret)"),
            multi_flag("from-file", help="[key=]path of a file (configmap, secret)"),
            value_flag("image", help="Image of the deployment"),
            value_flag("replicas", help="Replicas of the deployment", default="1"),
            value_flag("port", help="Container port of the deployment"),
            _VALIDATE,
            _ignored_bool("save-config"),
        ),
    ),
    "replace": CommandSpec(
        "replace",
        "cmd_apply",
        "run_replace",
        "Replace resources from files",
        "kubectl replace -f FILE",
        (_FILENAME, _RECURSIVE, _VALIDATE),
    ),
    "delete": CommandSpec(
        "delete",
        "cmd_delete",
        "run",
        "Delete resources by names, files or label selectors",
        "kubectl delete TYPE NAME... | TYPE/NAME... | -f FILE | TYPE -l SELECTOR | TYPE --all",
        (
            _FILENAME,
            _RECURSIVE,
            _SELECTOR,
            _FIELD_SELECTOR,
            _ALL,
            _ALL_NAMESPACES,
            _OUTPUT,
            value_flag("grace-period", help="Seconds given to the resource to terminate gracefully", default="-1"),
            bool_flag("now", help="Signal resources for immediate shutdown (grace period 1)"),
            bool_flag("force", help="Immediate deletion (with --grace-period=0)"),
            bool_flag("wait", help="Wait for resources to be gone before returning", default="true"),
            _TIMEOUT,
            bool_flag("ignore-not-found", help="Treat 'resource not found' as a successful delete"),
            _ignored_value("cascade"),
        ),
    ),
    "wait": CommandSpec(
        "wait",
        "cmd_wait",
        "run",
        "Wait for a condition on one or many resources",
        "kubectl wait TYPE[/NAME] --for=condition=Ready|delete|jsonpath='{.status.phase}'=Running [--timeout=30s]",
        (
            value_flag("for", help="condition=NAME[=value], delete, or jsonpath='{...}'=value"),
            _TIMEOUT,
            _SELECTOR,
            _ALL,
            _ALL_NAMESPACES,
        ),
    ),
    "version": CommandSpec(
        "version",
        "cmd_info",
        "run_version",
        "Print the client and server version information",
        "kubectl version [--client] [-o json|yaml]",
        (bool_flag("client", help="Client version only"), _OUTPUT),
    ),
    "cluster-info": CommandSpec(
        "cluster-info", "cmd_info", "run_cluster_info", "Display cluster information", "kubectl cluster-info"
    ),
    "api-resources": CommandSpec(
        "api-resources",
        "cmd_info",
        "run_api_resources",
        "Print the supported API resources",
        "kubectl api-resources [--namespaced=true|false] [-o name|wide]",
        (
            value_flag("namespaced", help="true or false: only namespaced (or cluster-scoped) resources"),
            _OUTPUT,
            _NO_HEADERS,
            value_flag("api-group", help="Limit to resources in this API group"),
            value_flag("sort-by", help="name or kind"),
        ),
    ),
    "api-versions": CommandSpec(
        "api-versions", "cmd_info", "run_api_versions", "Print the supported API versions", "kubectl api-versions"
    ),
    "config": CommandGroup(
        "config",
        "Show the (single) remedlab context",
        {
            "current-context": CommandSpec(
                "config current-context",
                "cmd_info",
                "run_current_context",
                "Display the current context",
                "kubectl config current-context",
            ),
            "get-contexts": CommandSpec(
                "config get-contexts",
                "cmd_info",
                "run_get_contexts",
                "Describe the contexts",
                "kubectl config get-contexts",
                (_OUTPUT, _NO_HEADERS),
            ),
            "view": CommandSpec(
                "config view",
                "cmd_info",
                "run_config_view",
                "Display the configuration",
                "kubectl config view",
                (_OUTPUT, _ignored_bool("minify"), bool_flag("raw", help="Show the token")),
            ),
        },
    ),
}

# Real kubectl commands this CLI deliberately does not offer.
UNSUPPORTED = (
    "alpha",
    "attach",
    "auth",
    "autoscale",
    "certificate",
    "completion",
    "cp",
    "debug",
    "diff",
    "drain",
    "edit",
    "explain",
    "expose",
    "kustomize",
    "plugin",
    "port-forward",
    "proxy",
    "run",
    "taint",
)
