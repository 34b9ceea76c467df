"""A pod's volumes on the node: claims bind-mounted (or used in place), hostPaths as they are,
emptyDirs under the pod's directory, ConfigMap and Secret items written as files, all owned by the
user containers run as; and where each container's mounts and working directory are on the host."""

from __future__ import annotations

import base64
import contextlib
import os
from pathlib import Path
from typing import Any

from remedlab.cluster.apiserver.store import Store
from remedlab.cluster.controllers.volume_controller import claim_dir
from remedlab.cluster.node.container_env import ConfigError
from remedlab.cluster.node.isolation.pod_filesystem import VolumeMount
from remedlab.cluster.node.volume_mounts import bind_mount, share
from remedlab.mounts import mounts_under

READ_ONLY_SOURCES = ("configMap", "secret")
"""Volumes Kubernetes always mounts read-only."""


class PodVolumes:
    """The volumes of one pod, under ``pod_dir`` (``root`` is the containers' default working directory)."""

    def __init__(self, store: Store, home: Path, pod_dir: Path, namespace: str, spec: dict[str, Any]) -> None:
        self.store = store
        self.home = home
        self.dir = pod_dir
        self.namespace = namespace
        self.spec = spec
        self.paths: dict[str, Path] = {}

    @property
    def root(self) -> Path:
        return self.dir / "root"

    def prepare(self, run_as: tuple[int, int] | None, bind_mounts: bool, shared: bool = False) -> None:
        """Make every volume of the pod; raises ConfigError (a ConfigMap or Secret is missing).

        `shared` (the pod gets a mount namespace): every volume directory but a hostPath becomes a
        shared mount point, so what the host mounts over it later reaches the pod's namespace.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        volumes_dir = self.dir / "volumes"
        volumes: dict[str, Path] = {}
        for volume in self.spec.get("volumes") or []:
            name = volume["name"]
            if "persistentVolumeClaim" in volume:
                claim = claim_dir(self.home, self.namespace, volume["persistentVolumeClaim"]["claimName"])
                claim.mkdir(parents=True, exist_ok=True)
                if run_as is not None:
                    os.chown(claim, *run_as)
                if bind_mounts:
                    path = volumes_dir / name
                    if path not in mounts_under(path):
                        bind_mount(claim, path)
                else:
                    path = claim
            elif "hostPath" in volume:
                path = Path(volume["hostPath"]["path"])
            else:
                path = volumes_dir / name
            path.mkdir(parents=True, exist_ok=True)
            self._write_items(volume, path)
            if shared and "hostPath" not in volume:
                share(path)
            volumes[name] = path
        if run_as is not None:
            for path in [self.dir, self.root, *[p for n, p in volumes.items() if not self._is_host_path(n)]]:
                for dirpath, _dirs, files in os.walk(path):
                    with contextlib.suppress(OSError):
                        os.chown(dirpath, *run_as)
                    for f in files:
                        with contextlib.suppress(OSError):
                            os.chown(os.path.join(dirpath, f), *run_as)
            os.chmod(self.dir, 0o755)
        self.paths = volumes

    def _write_items(self, volume: dict[str, Any], path: Path) -> None:
        """A ConfigMap or Secret volume's keys, each a file."""
        for kind, key, ref in (("ConfigMap", "configMap", "name"), ("Secret", "secret", "secretName")):
            source = volume.get(key)
            if not source:
                continue
            obj = self.store.get(kind, self.namespace, source[ref])
            if obj is None:
                if source.get("optional"):
                    continue
                raise ConfigError(f'{kind.lower()} "{source[ref]}" not found')
            data = dict(obj.get("data") or {})
            if kind == "Secret":
                data = {kk: base64.b64decode(v).decode() for kk, v in data.items()}
                data.update(obj.get("stringData") or {})
            items = source.get("items") or [{"key": kk, "path": kk} for kk in data]
            for item in items:
                target = path / item["path"]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(data.get(item["key"], ""))

    def _is_host_path(self, volume_name: str) -> bool:
        return any(v["name"] == volume_name and "hostPath" in v for v in self.spec.get("volumes") or [])

    def mounts_for(self, container: dict[str, Any]) -> dict[str, str]:
        """Each mount path of the container and the host directory behind it."""
        mounts: dict[str, str] = {}
        for mount in container.get("volumeMounts") or []:
            base = self.paths.get(mount["name"])
            if base is None:
                continue
            path = base / mount["subPath"] if mount.get("subPath") else base
            if not path.exists():
                path.mkdir(parents=True, exist_ok=True)
            mounts[mount["mountPath"]] = str(path)
        return mounts

    def namespace_mounts(self) -> tuple[VolumeMount, ...]:
        """Every volume mount of the pod's containers (init containers included) for its mount
        namespace: the union of theirs, the first container's winning where two mount at one path."""
        kinds = {v["name"]: v for v in self.spec.get("volumes") or []}
        found: dict[str, VolumeMount] = {}
        for container in [*(self.spec.get("initContainers") or []), *self.spec["containers"]]:
            for mount in container.get("volumeMounts") or []:
                target = os.path.normpath("/" + mount["mountPath"].lstrip("/"))
                volume = kinds.get(mount["name"], {})
                if target in found or mount["name"] not in self.paths:
                    continue
                source = self.mounts_for({"volumeMounts": [mount]}).get(mount["mountPath"])
                if source is None:
                    continue
                read_only = bool(mount.get("readOnly")) or any(k in volume for k in READ_ONLY_SOURCES)
                found[target] = VolumeMount(target, source, read_only)
        return tuple(found.values())

    def workdir_for(self, container: dict[str, Any], mounts: dict[str, str]) -> str:
        """The host directory the container's ``workingDir`` names (the pod's root when it names none)."""
        wanted = container.get("workingDir")
        if wanted:
            for mount_path, host in sorted(mounts.items(), key=lambda kv: -len(kv[0])):
                if wanted == mount_path or wanted.startswith(mount_path.rstrip("/") + "/"):
                    return str(host) + str(wanted[len(mount_path) :])
            if os.path.isdir(wanted):
                return str(wanted)
        return str(self.root)
