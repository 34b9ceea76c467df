"""Per-container resource limits, accounting and containment, with the fidelity reached on this host."""

from remedlab.api.fidelity_check import FidelityCheck
from remedlab.cluster.node.isolation.fidelity import fuse_check, network_fault_check
from remedlab.cluster.node.isolation.limits import ContainerLimits, IsolationError, Usage
from remedlab.cluster.node.isolation.sandbox import ContainerSandbox, Isolation

__all__ = [
    "ContainerLimits",
    "ContainerSandbox",
    "FidelityCheck",
    "Isolation",
    "IsolationError",
    "Usage",
    "fuse_check",
    "network_fault_check",
]
