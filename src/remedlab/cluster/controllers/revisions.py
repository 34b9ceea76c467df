"""Deployment revisions: ReplicaSets owned by a Deployment, their hashes and numbers."""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

from remedlab.api.kinds import Obj
from remedlab.cluster.apiserver.store import Store

REVISION_ANNOTATION = "deployment.kubernetes.io/revision"
HASH_LABEL = "pod-template-hash"
_HASH_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def template_without_hash(template: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(template)
    labels = out.get("metadata", {}).get("labels")
    if labels:
        labels.pop(HASH_LABEL, None)
    return out


def template_hash(template: dict[str, Any]) -> str:
    """A short stable hash of a pod template, in Kubernetes' safe alphabet."""
    raw = json.dumps(template_without_hash(template), sort_keys=True).encode()
    number = int.from_bytes(hashlib.sha256(raw).digest()[:8], "big")
    chars = []
    for _ in range(10):
        number, rem = divmod(number, len(_HASH_ALPHABET))
        chars.append(_HASH_ALPHABET[rem])
    return "".join(chars)


def controller_ref(obj: Obj) -> dict[str, Any] | None:
    """The owner reference of an object's controller, if it has one."""
    for ref in obj["metadata"].get("ownerReferences") or []:
        if ref.get("controller"):
            return dict(ref)
    return None


def controller_uid(obj: Obj) -> str | None:
    ref = controller_ref(obj)
    return None if ref is None else str(ref["uid"])


def owned_by(obj: Obj, owner: Obj) -> bool:
    return controller_uid(obj) == str(owner["metadata"]["uid"])


def owned_replicasets(store: Store, deployment: Obj) -> list[Obj]:
    ns = deployment["metadata"]["namespace"]
    return [rs for rs in store.list_objects("ReplicaSet", ns) if owned_by(rs, deployment)]


def revision_of(rs: Obj) -> int:
    raw = (rs["metadata"].get("annotations") or {}).get(REVISION_ANNOTATION, "0")
    try:
        return int(raw)
    except ValueError:
        return 0


def owner_reference(owner: Obj) -> dict[str, Any]:
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }
