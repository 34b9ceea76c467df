"""The cluster DNS zone's fixed data: its name, record TTLs, its SOA, the Service it is reached by."""

from __future__ import annotations

CLUSTER_DOMAIN = "cluster.local"
"""The cluster's DNS domain (the kubelet's ``--cluster-domain``)."""

SERVICE_SUBDOMAIN = "svc"
"""Services' names sit under ``<namespace>.svc.<cluster domain>``."""

RECORD_TTL = 5
"""Seconds a client may cache an answer (CoreDNS's kubernetes plugin's default ``ttl``)."""

NEGATIVE_TTL = 5
"""The SOA minimum: seconds a client may cache a name's absence."""

SOA_MNAME = f"ns.dns.{CLUSTER_DOMAIN}"
SOA_RNAME = f"hostmaster.{CLUSTER_DOMAIN}"
SOA_REFRESH = 7200
SOA_RETRY = 1800
SOA_EXPIRE = 86400

SRV_PRIORITY = 0
SRV_TOTAL_WEIGHT = 100
"""An SRV set's weights add up to about this, shared equally, as CoreDNS shares them."""

DNS_SERVICE_NAMESPACE = "kube-system"
DNS_SERVICE_NAME = "kube-dns"
DNS_SERVICE_KEY = f"{DNS_SERVICE_NAMESPACE}/{DNS_SERVICE_NAME}"
DNS_PORT = 53
DNS_UDP_PORT_NAME = "dns"
DNS_TCP_PORT_NAME = "dns-tcp"
DNS_SERVICE_HOST_INDEX = 10
"""kube-dns's cluster IP is the service range's 10th address when free (``10.96.0.10`` on a kubeadm cluster)."""

UDP_PAYLOAD_LIMIT = 512
"""Bytes of a UDP answer to a client that sent no EDNS option; a longer one is truncated (TC) for TCP."""

EDNS_PAYLOAD_LIMIT = 1232
"""The largest UDP answer sent to a client that offers a bigger EDNS buffer (the DNS flag day's size)."""

TCP_IDLE_SECONDS = 10.0
"""A TCP client connection kept open without a query this long is closed."""
