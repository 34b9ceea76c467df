"""Cluster DNS: the records of zone ``cluster.local`` computed from the cluster's objects
(records.py), served over UDP and TCP (server.py) on the cluster IP of Service ``kube-system/kube-dns``
(kube_dns.py). Nothing is forwarded: a name outside the zone gets NXDOMAIN."""
