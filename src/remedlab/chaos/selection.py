"""Which pods a chaos experiment hits: Chaos Mesh's selector and mode semantics."""

from __future__ import annotations

import math
import random
from typing import Any

from remedlab.api.client import Backend

Obj = dict[str, Any]


def _matches(pod: Obj, selector: dict[str, Any]) -> bool:
    labels = pod["metadata"].get("labels") or {}
    if any(labels.get(k) != v for k, v in (selector.get("labelSelectors") or {}).items()):
        return False
    annotations = pod["metadata"].get("annotations") or {}
    if any(annotations.get(k) != v for k, v in (selector.get("annotationSelectors") or {}).items()):
        return False
    for expr in selector.get("expressionSelectors") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    phases = selector.get("podPhaseSelectors") or []
    if phases and pod.get("status", {}).get("phase") not in phases:
        return False
    nodes = selector.get("nodes") or []
    return not (nodes and pod["spec"].get("nodeName") not in nodes)


def candidate_pods(backend: Backend, selector: dict[str, Any], default_namespace: str) -> list[Obj]:
    explicit = selector.get("pods") or {}
    if explicit:
        found = []
        for ns, names in explicit.items():
            for pod in backend.list_objects("pods", ns):
                if pod["metadata"]["name"] in names:
                    found.append(pod)
        return [p for p in found if not p["metadata"].get("deletionTimestamp")]
    namespaces = selector.get("namespaces") or [default_namespace]
    pods = []
    for ns in namespaces:
        for pod in backend.list_objects("pods", ns):
            if pod["metadata"].get("deletionTimestamp"):
                continue
            if pod.get("status", {}).get("phase") in ("Succeeded", "Failed"):
                continue
            if _matches(pod, selector):
                pods.append(pod)
    return sorted(pods, key=lambda p: (p["metadata"]["namespace"], p["metadata"]["name"]))


def choose(pods: list[Obj], mode: str, value: str | None, rng: random.Random) -> list[Obj]:
    if not pods:
        return []
    count: int
    if mode == "all":
        return list(pods)
    if mode == "one":
        count = 1
    elif mode == "fixed":
        count = min(len(pods), int(float(value or "1")))
    elif mode == "fixed-percent":
        count = max(1, math.floor(len(pods) * float(value or "0") / 100)) if float(value or "0") > 0 else 0
    elif mode == "random-max-percent":
        upper = math.floor(len(pods) * float(value or "0") / 100)
        count = rng.randint(0, upper) if upper > 0 else 0
    else:
        raise ValueError(f"unknown mode {mode}")
    return rng.sample(pods, count)
