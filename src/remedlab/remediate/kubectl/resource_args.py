"""Resource arguments as kubectl takes them: `pods`, `pods,svc`, `pod/x`, `all`, `TYPE NAME...`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from remedlab.api.kinds import BY_PLURAL, KindInfo, resolve
from remedlab.remediate.kubectl.errors import CommandError

ALL_PLURALS = ("pods", "services", "deployments", "replicasets")

_TYPE_AND_NAME_MIX = (
    "there is no need to specify a resource type as a separate argument when passing arguments in "
    "resource/name form (e.g. 'kubectl get resource/<resource_name>' instead of "
    "'kubectl get resource resource/<resource_name>'"
)


@dataclass
class ResourceRequest:
    info: KindInfo
    names: list[str] = field(default_factory=list)


def resolve_kind(word: str) -> KindInfo:
    info = resolve(word)
    if info is None:
        raise CommandError(f'the server doesn\'t have a resource type "{word}"')
    return info


def resolve_types(words: str, *, allow_all: bool = True) -> list[KindInfo]:
    """Resolve a comma-separated list of types; `all` stands for pods, services, deployments, replicasets."""
    infos: list[KindInfo] = []
    for word in (w.strip() for w in words.split(",")):
        if not word:
            continue
        all_kinds = allow_all and word == "all"
        candidates = [BY_PLURAL[p] for p in ALL_PLURALS] if all_kinds else [resolve_kind(word)]
        for info in candidates:
            if info not in infos:
                infos.append(info)
    return infos


def parse_resource_args(positionals: Sequence[str], *, allow_all: bool = True) -> list[ResourceRequest]:
    """Group the arguments into a list of (kind, names); empty when no argument was given."""
    if not positionals:
        return []
    if any("/" in arg for arg in positionals):
        if not all("/" in arg for arg in positionals):
            raise CommandError(_TYPE_AND_NAME_MIX)
        requests: list[ResourceRequest] = []
        for arg in positionals:
            kind_word, _, name = arg.partition("/")
            if not name:
                raise CommandError(f"arguments in resource/name form must have a single resource and name: {arg}")
            info = resolve_kind(kind_word)
            for request in requests:
                if request.info == info:
                    request.names.append(name)
                    break
            else:
                requests.append(ResourceRequest(info, [name]))
        return requests
    infos = resolve_types(positionals[0], allow_all=allow_all)
    names = list(positionals[1:])
    return [ResourceRequest(info, list(names)) for info in infos]


def object_ref(info: KindInfo, name: str) -> str:
    """`deployment.apps/web`, `pod/web-1`: how kubectl names an object in its messages."""
    return f"{info.qualified}/{name}"


def quoted_ref(info: KindInfo, name: str) -> str:
    """`deployment.apps "web"`: the form `kubectl delete` prints."""
    return f'{info.qualified} "{name}"'


def plural_ref(info: KindInfo) -> str:
    """`deployments.apps`, `pods`: how the API names a resource type in its messages."""
    return f"{info.plural}.{info.group}" if info.group else info.plural
