"""What kube-apiserver adds to a Job it creates: a selector of the job's own uid, and the labels that
selector picks on its pod template (unless the job brings its own selector, `manualSelector: true`)."""

from __future__ import annotations

import uuid

from remedlab.api.kinds import Obj

CONTROLLER_UID = "batch.kubernetes.io/controller-uid"
JOB_NAME = "batch.kubernetes.io/job-name"
LEGACY_CONTROLLER_UID = "controller-uid"
LEGACY_JOB_NAME = "job-name"


def job_pod_labels(job: Obj) -> dict[str, str]:
    """The labels every pod of ``job`` carries besides its template's."""
    uid, name = str(job["metadata"]["uid"]), str(job["metadata"]["name"])
    return {CONTROLLER_UID: uid, JOB_NAME: name, LEGACY_CONTROLLER_UID: uid, LEGACY_JOB_NAME: name}


def with_job_selector(job: Obj) -> Obj:
    """``job`` (changed in place) with its uid, its generated selector and its template's labels."""
    spec = job["spec"]
    if spec.get("manualSelector") and spec.get("selector"):
        return job
    meta = job["metadata"]
    meta["uid"] = meta.get("uid") or str(uuid.uuid4())
    if not spec.get("selector"):
        spec["selector"] = {"matchLabels": {CONTROLLER_UID: meta["uid"]}}
    template_meta = spec["template"].setdefault("metadata", {})
    template_meta["labels"] = {**(template_meta.get("labels") or {}), **job_pod_labels(job)}
    return job
