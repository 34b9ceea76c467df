"""What every command receives: the API client, the output streams, the namespace."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TextIO

from remedlab.api.kinds import KindInfo
from remedlab.remediate.kubectl.client import ApiClient
from remedlab.remediate.kubectl.errors import KubectlError

DEFAULT_NAMESPACE = "default"


@dataclass
class CommandContext:
    client: ApiClient
    out: TextIO
    err: TextIO
    namespace: str = DEFAULT_NAMESPACE
    namespace_given: bool = False
    now: float = field(default_factory=time.time)

    def print(self, text: str = "") -> None:
        self.out.write(text + "\n")

    def write(self, text: str) -> None:
        self.out.write(text)

    def warn(self, text: str) -> None:
        self.err.write(text + "\n")

    def report(self, error: KubectlError) -> None:
        self.err.write(error.render() + "\n")

    def namespace_for(self, info: KindInfo) -> str:
        """The namespace segment to address an object of `info` with."""
        return self.namespace if info.namespaced else ""

    def no_resources_message(self, all_namespaces: bool, namespaced: bool = True) -> str:
        if all_namespaces or not namespaced:
            return "No resources found"
        return f"No resources found in {self.namespace} namespace."
