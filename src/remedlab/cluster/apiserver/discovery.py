"""Discovery: which groups, versions and resources the server serves, in both of Kubernetes' forms.

Clients first ask ``/api`` and ``/apis`` for the aggregated document
(``apidiscovery.k8s.io/v2 APIGroupDiscoveryList``, one request for everything);
older ones read ``/api`` (APIVersions), ``/apis`` (APIGroupList) and one
``APIResourceList`` per group-version. Both are generated from ``api.kinds``.
"""

from __future__ import annotations

from remedlab.api.kinds import KINDS, KindInfo, group_versions
from remedlab.api.meta import (
    APIGroup,
    APIGroupDiscovery,
    APIGroupDiscoveryList,
    APIGroupList,
    APIResource,
    APIResourceDiscovery,
    APIResourceList,
    APISubresourceDiscovery,
    APIVersionDiscovery,
    APIVersions,
    DiscoveryGroupMeta,
    GroupVersionForDiscovery,
    GroupVersionKind,
    ServerAddressByClientCIDR,
    VersionInfo,
)

AGGREGATED_MEDIA_TYPE = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"

KUBERNETES_VERSION = "v1.37.0-remedlab"
"""The Kubernetes release whose API the embedded cluster follows (kubectl 1.37 is its client)."""


def version_info() -> VersionInfo:
    major, minor = KUBERNETES_VERSION.lstrip("v").split(".")[:2]
    return VersionInfo(major=major, minor=minor, git_version=KUBERNETES_VERSION, go_version="python")


def wants_aggregated(accept: str) -> bool:
    """True when the client's Accept header asks for the aggregated discovery document."""
    return "as=APIGroupDiscoveryList" in accept.replace(" ", "") and "g=apidiscovery.k8s.io" in accept


def _groups() -> dict[str, list[str]]:
    """Group name -> its versions ("" is the core group)."""
    out: dict[str, list[str]] = {}
    for gv in group_versions():
        group, _, version = gv.rpartition("/")
        out.setdefault(group, []).append(version)
    return out


def _kinds_of(group_version: str) -> list[KindInfo]:
    return [k for k in KINDS if k.api_version == group_version]


def _gvk(api_version: str, kind: str) -> GroupVersionKind:
    group, _, version = api_version.rpartition("/")
    return GroupVersionKind(group=group, version=version, kind=kind)


# --------------------------------------------------------------------------- legacy documents


def api_versions(server_address: str) -> APIVersions:
    return APIVersions(
        versions=_groups()[""],
        server_address_by_client_cidrs=[
            ServerAddressByClientCIDR(client_cidr="0.0.0.0/0", server_address=server_address)
        ],
    )


def _api_group(name: str, versions: list[str]) -> APIGroup:
    listed = [GroupVersionForDiscovery(group_version=f"{name}/{v}", version=v) for v in versions]
    return APIGroup(name=name, versions=listed, preferred_version=listed[0])


def api_group_list() -> APIGroupList:
    return APIGroupList(groups=[_api_group(g, vs) for g, vs in _groups().items() if g])


def api_group(name: str) -> APIGroup | None:
    versions = _groups().get(name)
    return _api_group(name, versions) if name and versions else None


def api_resource_list(group_version: str) -> APIResourceList | None:
    kinds = _kinds_of(group_version)
    if not kinds:
        return None
    resources: list[APIResource] = []
    for info in kinds:
        resources.append(
            APIResource(
                name=info.plural,
                singular_name=info.singular,
                namespaced=info.namespaced,
                kind=info.kind,
                verbs=list(info.verbs),
                short_names=list(info.short_names) or None,
                categories=list(info.categories) or None,
            )
        )
        for sub in info.subresources:
            sub_group, _, sub_version = sub.api_version.rpartition("/")
            resources.append(
                APIResource(
                    name=f"{info.plural}/{sub.name}",
                    singular_name="",
                    namespaced=info.namespaced,
                    group=sub_group if sub.api_version else None,
                    version=sub_version if sub.api_version else None,
                    kind=sub.kind or info.kind,
                    verbs=list(sub.verbs),
                )
            )
    return APIResourceList(group_version=group_version, resources=resources)


# --------------------------------------------------------------------------- aggregated documents


def _resource_discovery(info: KindInfo) -> APIResourceDiscovery:
    subresources = [
        APISubresourceDiscovery(
            subresource=sub.name,
            response_kind=_gvk(sub.api_version or info.api_version, sub.kind or info.kind),
            verbs=list(sub.verbs),
        )
        for sub in info.subresources
    ]
    return APIResourceDiscovery(
        resource=info.plural,
        response_kind=_gvk(info.api_version, info.kind),
        scope="Namespaced" if info.namespaced else "Cluster",
        singular_resource=info.singular,
        verbs=list(info.verbs),
        short_names=list(info.short_names) or None,
        categories=list(info.categories) or None,
        subresources=subresources or None,
    )


def aggregated(core: bool) -> APIGroupDiscoveryList:
    """The aggregated document of ``/api`` (core) or ``/apis`` (every named group)."""
    items: list[APIGroupDiscovery] = []
    for group, versions in _groups().items():
        if (group == "") != core:
            continue
        listed = [
            APIVersionDiscovery(
                version=v,
                resources=[_resource_discovery(k) for k in _kinds_of(f"{group}/{v}" if group else v)],
            )
            for v in versions
        ]
        items.append(APIGroupDiscovery(metadata=DiscoveryGroupMeta(name=group), versions=listed))
    return APIGroupDiscoveryList(items=items)
