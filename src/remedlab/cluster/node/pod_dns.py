"""A pod's name resolution, as the kubelet sets it up: its ``resolv.conf`` and ``hosts`` files, and how
its processes reach the cluster DNS server.

The two files are written under the pod's directory at set-up (`POD_RESOLV_CONF`, `POD_HOSTS_FILE`).
With a mount namespace per pod they are bind-mounted over `CONTAINER_RESOLV_CONF` and
`CONTAINER_HOSTS_FILE`, and every resolver reads them. Without one, the preloaded pod shim resolves
names itself (native/resolver.c): `DNS_SERVER_ENV` names the cluster DNS server (``ip:port``),
`RESOLV_CONF_ENV` and `HOSTS_FILE_ENV` the pod's two files; programs that read ``/etc/resolv.conf``
themselves (dig, statically linked ones) do not see it.

``spec.dnsPolicy`` is honoured as Kubernetes does: ``ClusterFirst`` (the default; ``Default`` for a
``hostNetwork`` pod), ``ClusterFirstWithHostNet``, ``Default`` (the node's own ``/etc/resolv.conf``)
and ``None`` (``spec.dnsConfig`` alone); ``dnsConfig`` adds nameservers, searches and options to
any policy. The node's search domains are not appended to a ClusterFirst pod's: nothing a pod asks
the cluster DNS for leaves the machine.
"""

from __future__ import annotations

import contextlib
import enum
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from remedlab.cluster.dns.zone import CLUSTER_DOMAIN, DNS_PORT, SERVICE_SUBDOMAIN

POD_RESOLV_CONF = Path("etc/resolv.conf")
"""The pod's resolv.conf, relative to the pod's directory."""
POD_HOSTS_FILE = Path("etc/hosts")
"""The pod's hosts file, relative to the pod's directory."""
CONTAINER_RESOLV_CONF = "/etc/resolv.conf"
"""Where a container sees the pod's resolv.conf."""
CONTAINER_HOSTS_FILE = "/etc/hosts"
"""Where a container sees the pod's hosts file."""

DNS_SERVER_ENV = "REMEDLAB_DNS_SERVER"
RESOLV_CONF_ENV = "REMEDLAB_RESOLV_CONF"
HOSTS_FILE_ENV = "REMEDLAB_HOSTS_FILE"

NODE_RESOLV_CONF = Path("/etc/resolv.conf")
"""What a ``dnsPolicy: Default`` pod resolves with (the kubelet's ``--resolv-conf``)."""

CLUSTER_NDOTS = 5
MAX_NAMESERVERS = 3
MAX_SEARCHES = 32
MAX_HOSTNAME = 63

LOCALHOST_LINES = (
    ("127.0.0.1", "localhost"),
    ("::1", "localhost ip6-localhost ip6-loopback"),
    ("fe00::0", "ip6-localnet"),
    ("fe00::0", "ip6-mcastprefix"),
    ("fe00::1", "ip6-allnodes"),
    ("fe00::2", "ip6-allrouters"),
)


class DnsMode(enum.Enum):
    """How a pod's processes reach the cluster DNS."""

    MOUNT_NAMESPACE = "mount-namespace"
    """The pod's files are mounted at /etc/resolv.conf and /etc/hosts; the server listens on port 53."""
    SHIM = "shim"
    """The preloaded shim resolves through the server named by `DNS_SERVER_ENV`."""
    UNAVAILABLE = "unavailable"
    """No cluster DNS for the pods' processes (no server, or no shim to reach it)."""


@dataclass(frozen=True)
class ClusterDns:
    """Where the cluster DNS server listens."""

    ip: str
    port: int = DNS_PORT

    @property
    def address(self) -> str:
        return f"{self.ip}:{self.port}"


@dataclass(frozen=True)
class ResolverConfig:
    """A pod's resolv.conf."""

    nameservers: tuple[str, ...]
    searches: tuple[str, ...]
    options: tuple[tuple[str, str | None], ...]

    def render(self) -> str:
        lines = []
        if self.searches:
            lines.append("search " + " ".join(self.searches))
        lines += [f"nameserver {ns}" for ns in self.nameservers]
        if self.options:
            lines.append("options " + " ".join(k if v is None else f"{k}:{v}" for k, v in self.options))
        return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class PodDnsFiles:
    """The pod's two files on the host, and whether its resolv.conf names the cluster DNS."""

    resolv_conf: Path
    hosts: Path
    cluster_first: bool


def parse_resolv_conf(text: str) -> ResolverConfig:
    nameservers: list[str] = []
    searches: list[str] = []
    options: list[tuple[str, str | None]] = []
    for raw in text.splitlines():
        fields = raw.split("#", 1)[0].split(";", 1)[0].split()
        if not fields:
            continue
        key, values = fields[0], fields[1:]
        if key == "nameserver" and values:
            nameservers.append(values[0])
        elif key in ("search", "domain"):
            searches = list(values)
        elif key == "options":
            for value in values:
                name, sep, arg = value.partition(":")
                options.append((name, arg if sep else None))
    return ResolverConfig(tuple(nameservers), tuple(searches), tuple(options))


def _unique(items: list[str], limit: int) -> tuple[str, ...]:
    return tuple(dict.fromkeys(i for i in items if i))[:limit]


def cluster_searches(namespace: str) -> tuple[str, ...]:
    return (
        f"{namespace}.{SERVICE_SUBDOMAIN}.{CLUSTER_DOMAIN}",
        f"{SERVICE_SUBDOMAIN}.{CLUSTER_DOMAIN}",
        CLUSTER_DOMAIN,
    )


def effective_policy(spec: dict[str, Any], cluster_dns: ClusterDns | None) -> str:
    """The policy a pod's resolv.conf follows, as the kubelet reads ``dnsPolicy``."""
    policy = str(spec.get("dnsPolicy") or "ClusterFirst")
    if policy == "ClusterFirst" and spec.get("hostNetwork"):
        policy = "Default"
    if policy in ("ClusterFirst", "ClusterFirstWithHostNet"):
        return "ClusterFirst" if cluster_dns is not None else "Default"
    return policy if policy in ("Default", "None") else "ClusterFirst"


def resolver_config(
    spec: dict[str, Any], namespace: str, cluster_dns: ClusterDns | None, node_resolv_conf: str = ""
) -> ResolverConfig:
    """The resolv.conf a pod gets for its ``dnsPolicy`` and ``dnsConfig``."""
    policy = effective_policy(spec, cluster_dns)
    if policy == "ClusterFirst" and cluster_dns is not None:
        base = ResolverConfig((cluster_dns.ip,), cluster_searches(namespace), (("ndots", str(CLUSTER_NDOTS)),))
    elif policy == "Default":
        base = parse_resolv_conf(node_resolv_conf)
    else:
        base = ResolverConfig((), (), ())
    config = spec.get("dnsConfig") or {}
    options = dict(base.options)
    for option in config.get("options") or []:
        if option.get("name"):
            value = option.get("value")
            options[str(option["name"])] = None if value is None else str(value)
    return ResolverConfig(
        _unique([*base.nameservers, *(str(n) for n in config.get("nameservers") or [])], MAX_NAMESERVERS),
        _unique([*base.searches, *(str(s) for s in config.get("searches") or [])], MAX_SEARCHES),
        tuple(options.items()),
    )


def pod_hostname(name: str, spec: dict[str, Any]) -> str:
    return str(spec.get("hostname") or name)[:MAX_HOSTNAME]


def render_hosts(pod_ip: str, name: str, namespace: str, spec: dict[str, Any]) -> str:
    """A pod's hosts file as the kubelet writes it: localhost, the pod's IP with its hostname (and
    fully qualified name under its subdomain), then ``hostAliases``."""
    lines = ["# Kubernetes-managed hosts file."]
    lines += [f"{ip}\t{names}" for ip, names in LOCALHOST_LINES]
    hostname = pod_hostname(name, spec)
    if pod_ip:
        subdomain = spec.get("subdomain")
        if subdomain:
            fqdn = f"{hostname}.{subdomain}.{namespace}.{SERVICE_SUBDOMAIN}.{CLUSTER_DOMAIN}"
            lines.append(f"{pod_ip}\t{fqdn}\t{hostname}")
        else:
            lines.append(f"{pod_ip}\t{hostname}")
    aliases = spec.get("hostAliases") or []
    if aliases:
        lines.append("")
        lines.append("# Entries added by HostAliases.")
        for alias in aliases:
            names = "\t".join(str(h) for h in alias.get("hostnames") or [])
            if alias.get("ip") and names:
                lines.append(f"{alias['ip']}\t{names}")
    return "\n".join(lines) + "\n"


def _node_resolv_conf() -> str:
    with contextlib.suppress(OSError):
        return NODE_RESOLV_CONF.read_text()
    return ""


def write_pod_dns_files(
    pod_dir: Path, pod_ip: str, name: str, namespace: str, spec: dict[str, Any], cluster_dns: ClusterDns | None
) -> PodDnsFiles:
    """Write the pod's resolv.conf and hosts file under ``pod_dir`` (world-readable, the node's own)."""
    resolv_conf = pod_dir / POD_RESOLV_CONF
    hosts = pod_dir / POD_HOSTS_FILE
    resolv_conf.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(resolv_conf.parent, 0o755)
    policy = effective_policy(spec, cluster_dns)
    config = resolver_config(spec, namespace, cluster_dns, _node_resolv_conf() if policy == "Default" else "")
    for path, text in ((resolv_conf, config.render()), (hosts, render_hosts(pod_ip, name, namespace, spec))):
        tmp = path.with_suffix(".tmp")
        tmp.write_text(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    cluster_first = cluster_dns is not None and cluster_dns.ip in config.nameservers
    return PodDnsFiles(resolv_conf, hosts, cluster_first)


def resolver_env(files: PodDnsFiles | None, cluster_dns: ClusterDns | None, mode: DnsMode) -> dict[str, str]:
    """What the shim needs to resolve a pod's names: set only when the shim is how the pod reaches the
    cluster DNS and the pod's policy points at it."""
    if files is None or cluster_dns is None or mode is not DnsMode.SHIM or not files.cluster_first:
        return {}
    return {
        DNS_SERVER_ENV: cluster_dns.address,
        RESOLV_CONF_ENV: str(files.resolv_conf),
        HOSTS_FILE_ENV: str(files.hosts),
    }
