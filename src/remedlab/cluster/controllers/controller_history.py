"""ControllerRevisions: the template history of StatefulSets and DaemonSets, as Kubernetes keeps it.

Each revision holds a strategic merge patch that restores its owner's pod
template (`{"spec": {"template": {..., "$patch": "replace"}}}`), so the real
`kubectl rollout history` prints it and `kubectl rollout undo` patches it back.
A revision is named `<owner>-<hash of the template>`, labelled with the
template's labels (the owner's selector finds it) and owned by its controller.
Going back to an earlier template renumbers its revision as the newest one.
"""

from __future__ import annotations

import contextlib
from typing import Any

from remedlab.api.errors import NotFound
from remedlab.api.kinds import Obj
from remedlab.cluster.apiserver.registry import CHANGE_CAUSE
from remedlab.cluster.apiserver.store import Store
from remedlab.cluster.controllers.change_feed import clone
from remedlab.cluster.controllers.informer import Informer
from remedlab.cluster.controllers.revisions import owned_by, owner_reference, template_hash


def revision_patch(owner: Obj) -> dict[str, Any]:
    """The data of the revision of ``owner``'s current template."""
    return {"spec": {"template": {**clone(owner["spec"]["template"]), "$patch": "replace"}}}


def template_of(revision: Obj) -> dict[str, Any]:
    """The pod template a revision holds."""
    template: dict[str, Any] = clone(((revision.get("data") or {}).get("spec") or {}).get("template") or {})
    template.pop("$patch", None)
    return template


def revision_number(revision: Obj) -> int:
    return int(revision.get("revision") or 0)


class ControllerHistory:
    """The revisions of the owners of one kind, read from their informer and written to the store."""

    def __init__(self, store: Store, revisions: Informer, hash_label: str) -> None:
        self.store = store
        self.revisions = revisions
        self.hash_label = hash_label
        """The label carrying a revision's hash (`controller.kubernetes.io/hash` for StatefulSets)."""

    def owned(self, owner: Obj) -> list[Obj]:
        """The revisions of ``owner``, oldest first."""
        namespace = owner["metadata"]["namespace"]
        found = [r for r in self.revisions.objects(namespace) if owned_by(r, owner)]
        return sorted(found, key=revision_number)

    def hash_of(self, revision: Obj) -> str:
        return str((revision["metadata"].get("labels") or {}).get(self.hash_label, ""))

    def update_revision(self, owner: Obj) -> Obj:
        """The revision of ``owner``'s current template: made when new, renumbered as the newest when an
        older one holds the same template (a rollback)."""
        owned = self.owned(owner)
        data = revision_patch(owner)
        newest = max((revision_number(r) for r in owned), default=0)
        cause = (owner["metadata"].get("annotations") or {}).get(CHANGE_CAUSE)
        for revision in owned:
            if revision.get("data") == data:
                if revision_number(revision) == newest:
                    return revision
                renumbered = clone(revision)
                renumbered["revision"] = newest + 1
                annotations = renumbered["metadata"].setdefault("annotations", {})
                if cause:
                    annotations[CHANGE_CAUSE] = cause
                else:
                    annotations.pop(CHANGE_CAUSE, None)
                return self.store.update(renumbered, check_rv=True)
        hash_ = template_hash(owner["spec"]["template"])
        namespace, name = owner["metadata"]["namespace"], owner["metadata"]["name"]
        revision_name = f"{name}-{hash_}"
        stale = self.revisions.get_object(namespace, revision_name)
        if stale is not None:  # the same name left by an earlier owner, or a hash collision
            with contextlib.suppress(NotFound):
                self.store.delete("ControllerRevision", namespace, revision_name)
        labels = dict((owner["spec"]["template"].get("metadata") or {}).get("labels") or {})
        labels[self.hash_label] = hash_
        return self.store.create(
            {
                "apiVersion": "apps/v1",
                "kind": "ControllerRevision",
                "metadata": {
                    "name": revision_name,
                    "namespace": namespace,
                    "labels": labels,
                    "annotations": {CHANGE_CAUSE: cause} if cause else {},
                    "ownerReferences": [owner_reference(owner)],
                },
                "data": data,
                "revision": newest + 1,
            }
        )

    def truncate(self, owner: Obj, in_use: set[str], limit: int) -> None:
        """Delete the oldest revisions beyond ``limit``, but never one named in ``in_use``."""
        spare = [r for r in self.owned(owner) if r["metadata"]["name"] not in in_use]
        for revision in spare[: max(0, len(spare) - limit)]:
            with contextlib.suppress(NotFound):
                self.store.delete("ControllerRevision", owner["metadata"]["namespace"], revision["metadata"]["name"])
