"""Patching of cluster objects: JSON merge patch, JSON patch, strategic merge patch.

Every function here is pure: its inputs are never mutated and the result shares
no mutable state with them.

* :func:`apply_merge_patch` -- RFC 7386 (``kubectl patch --type merge``).
* :func:`apply_json_patch` -- RFC 6902 (``kubectl patch --type json``).
* :func:`apply_strategic_merge_patch` -- the Kubernetes strategic merge patch
  (``kubectl patch``'s default) for the kinds remedlab serves.
* :func:`three_way_apply` -- the merge behind ``kubectl apply``.

Strategic merging decides how to merge a list by the name of the field holding
it (see :data:`MERGE_KEYS`); the field names of the objects remedlab serves are
distinctive enough that no per-kind schema is needed.  ``ports`` is the one
name shared by two shapes (container ports and service ports), so it lists two
candidate keys and the one present in the elements wins.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

__all__ = [
    "MERGE_KEYS",
    "MERGE_PRIMITIVE_LISTS",
    "SERVER_METADATA_FIELDS",
    "Obj",
    "PatchError",
    "apply_json_patch",
    "apply_merge_patch",
    "apply_strategic_merge_patch",
    "three_way_apply",
]

Obj = dict[str, Any]


class PatchError(ValueError):
    """A patch could not be applied; the message is a single line."""


# --------------------------------------------------------------------------- tables

#: Lists of objects merged element by element, keyed by the field name holding
#: the list.  The value lists candidate merge keys; the first one found in the
#: list's elements is used.  Lists not named here are replaced wholesale.
MERGE_KEYS: dict[str, tuple[str, ...]] = {
    "containers": ("name",),
    "initContainers": ("name",),
    "ephemeralContainers": ("name",),
    "env": ("name",),
    "ports": ("containerPort", "port"),
    "volumeMounts": ("mountPath",),
    "volumes": ("name",),
    "imagePullSecrets": ("name",),
    "ownerReferences": ("uid",),
    "conditions": ("type",),
}

#: Lists of scalars merged as sets (patch values are added, existing ones kept).
#: Every other list of scalars (``args``, ``command``, ...) is replaced.
MERGE_PRIMITIVE_LISTS: frozenset[str] = frozenset({"finalizers"})

#: Metadata the server owns; :func:`three_way_apply` always keeps the live values.
SERVER_METADATA_FIELDS: tuple[str, ...] = (
    "uid",
    "resourceVersion",
    "creationTimestamp",
    "generation",
    "managedFields",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
)

_PATCH = "$patch"
_RETAIN_KEYS = "$retainKeys"
_DELETE_FROM_PRIMITIVE = "$deleteFromPrimitiveList/"
_SET_ELEMENT_ORDER = "$setElementOrder/"


def _merge_key(field: str, *lists: list[Any]) -> str | None:
    """The merge key for the list held by ``field``, or None when it is replaced."""
    candidates = MERGE_KEYS.get(field)
    if not candidates:
        return None
    elements = [e for items in lists for e in items if isinstance(e, dict)]
    if not elements and any(items for items in lists):
        return None  # a list of scalars under a keyed name: nothing to key on
    for candidate in candidates:
        if any(candidate in e for e in elements):
            return candidate
    return candidates[0]


def _find(items: list[Any], key: str, value: Any) -> int:
    for i, item in enumerate(items):
        if isinstance(item, dict) and key in item and item[key] == value:
            return i
    return -1


def _short(value: Any, limit: int = 60) -> str:
    try:
        text = json.dumps(value, sort_keys=True)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --------------------------------------------------------------------------- RFC 7386


def apply_merge_patch(target: Any, patch: Any) -> Any:
    """Apply an RFC 7386 JSON merge patch and return the new document.

    A ``null`` in the patch deletes the key, objects merge recursively and any
    other value (lists included) replaces the target's value.
    """
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result: Obj = copy.deepcopy(target) if isinstance(target, dict) else {}
    _merge_patch_into(result, patch)
    return result


def _merge_patch_into(owned: Obj, patch: Obj) -> None:
    for key, value in patch.items():
        if value is None:
            owned.pop(key, None)
        elif isinstance(value, dict):
            current = owned.get(key)
            child: Obj = current if isinstance(current, dict) else {}
            _merge_patch_into(child, value)
            owned[key] = child
        else:
            owned[key] = copy.deepcopy(value)


# --------------------------------------------------------------------------- RFC 6902


class _OpFailure(Exception):
    """Raised inside one JSON patch operation; wrapped into a PatchError."""


_ARRAY_INDEX = re.compile(r"0|[1-9][0-9]*")
_BAD_ESCAPE = re.compile(r"~(?![01])")


def _parse_pointer(pointer: Any, what: str = "path") -> list[str]:
    if not isinstance(pointer, str):
        raise _OpFailure(f"{what} must be a string")
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise _OpFailure(f"invalid JSON pointer {pointer!r}: must start with '/'")
    tokens = pointer[1:].split("/")
    for token in tokens:
        if _BAD_ESCAPE.search(token):
            raise _OpFailure(f"invalid JSON pointer {pointer!r}: bad '~' escape")
    return [t.replace("~1", "/").replace("~0", "~") for t in tokens]


def _index(token: str, length: int, *, for_insert: bool) -> int:
    if token == "-":
        if for_insert:
            return length
        raise _OpFailure("path not found ('-' names no existing element)")
    if not _ARRAY_INDEX.fullmatch(token):
        raise _OpFailure(f"invalid array index {token!r}")
    index = int(token)
    if index > length or (index == length and not for_insert):
        raise _OpFailure(f"array index {index} out of range (length {length})")
    return index


def _resolve(doc: Any, tokens: list[str]) -> Any:
    node = doc
    for token in tokens:
        if isinstance(node, dict):
            if token not in node:
                raise _OpFailure("path not found")
            node = node[token]
        elif isinstance(node, list):
            if _ARRAY_INDEX.fullmatch(token) and int(token) < len(node):
                node = node[int(token)]
            elif token == "-" or _ARRAY_INDEX.fullmatch(token):
                raise _OpFailure("path not found")
            else:
                raise _OpFailure(f"invalid array index {token!r}")
        else:
            raise _OpFailure("path not found")
    return node


def _container(doc: Any, tokens: list[str]) -> Any:
    parent = _resolve(doc, tokens[:-1])
    if not isinstance(parent, dict | list):
        raise _OpFailure("path not found (parent is not an object or array)")
    return parent


def _op_add(doc: Any, tokens: list[str], value: Any) -> Any:
    if not tokens:
        return value
    parent = _container(doc, tokens)
    last = tokens[-1]
    if isinstance(parent, dict):
        parent[last] = value
    else:
        parent.insert(_index(last, len(parent), for_insert=True), value)
    return doc


def _op_remove(doc: Any, tokens: list[str]) -> Any:
    if not tokens:
        raise _OpFailure("cannot remove the document root")
    parent = _container(doc, tokens)
    last = tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise _OpFailure("path not found")
        return parent.pop(last)
    if last == "-":
        raise _OpFailure("path not found")
    return parent.pop(_index(last, len(parent), for_insert=False))


def _op_replace(doc: Any, tokens: list[str], value: Any) -> Any:
    if not tokens:
        return value
    parent = _container(doc, tokens)
    last = tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise _OpFailure("path not found")
        parent[last] = value
    else:
        if last == "-":
            raise _OpFailure("path not found")
        parent[_index(last, len(parent), for_insert=False)] = value
    return doc


def _json_equal(a: Any, b: Any) -> bool:
    """Equality of JSON values: numbers by value, booleans distinct from numbers."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and bool(a == b)


def _require(op: Obj, member: str) -> Any:
    if member not in op:
        raise _OpFailure(f"missing {member!r} member")
    return op[member]


def _apply_one(doc: Any, op: Obj) -> Any:
    name = op.get("op")
    tokens = _parse_pointer(_require(op, "path"))
    if name == "add":
        return _op_add(doc, tokens, copy.deepcopy(_require(op, "value")))
    if name == "remove":
        _op_remove(doc, tokens)
        return doc
    if name == "replace":
        return _op_replace(doc, tokens, copy.deepcopy(_require(op, "value")))
    if name == "test":
        expected = _require(op, "value")
        actual = _resolve(doc, tokens)
        if not _json_equal(actual, expected):
            raise _OpFailure(f"test failed: expected {_short(expected)}, found {_short(actual)}")
        return doc
    if name in ("move", "copy"):
        source = _parse_pointer(_require(op, "from"), "from")
        try:
            value = _resolve(doc, source)
        except _OpFailure:
            raise _OpFailure(f"from path {op['from']} not found") from None
        if name == "copy":
            return _op_add(doc, tokens, copy.deepcopy(value))
        if tokens == source:
            return doc
        if tokens[: len(source)] == source:
            raise _OpFailure("cannot move a value into one of its own children")
        _op_remove(doc, source)
        return _op_add(doc, tokens, value)
    if name is None:
        raise _OpFailure("missing 'op' member")
    raise _OpFailure(f"unknown op {name!r}")


def apply_json_patch(target: Any, ops: list[dict[str, Any]]) -> Any:
    """Apply an RFC 6902 JSON patch and return the new document.

    Operations run in order on a deep copy of ``target``; the first failing one
    raises :class:`PatchError` naming its (0-based) index, op and path, e.g.
    ``jsonpatch op 1 (replace /spec/replicas2): path not found``.
    """
    if not isinstance(ops, list):
        raise PatchError("jsonpatch: the patch must be a list of operations")
    doc = copy.deepcopy(target)
    for i, op in enumerate(ops):
        if not isinstance(op, dict):
            raise PatchError(f"jsonpatch op {i}: an operation must be an object")
        label = f"{op.get('op', '?')} {op.get('path', '?')}"
        try:
            doc = _apply_one(doc, op)
        except _OpFailure as exc:
            raise PatchError(f"jsonpatch op {i} ({label}): {exc}") from None
    return doc


# --------------------------------------------------------------------------- strategic merge


def apply_strategic_merge_patch(target: Obj, patch: Obj) -> Obj:
    """Apply a Kubernetes strategic merge patch and return the new object.

    Maps merge recursively and ``null`` deletes a key.  Lists named in
    :data:`MERGE_KEYS` merge element by element on their merge key; lists named
    in :data:`MERGE_PRIMITIVE_LISTS` merge as sets; all other lists replace.

    Directives: ``$patch: delete`` (on a keyed list element, or on a map value
    to delete it), ``$patch: replace`` (on a map, or as a list element
    ``{"$patch": "replace"}`` to replace the whole list), ``$patch: merge``
    (the default), ``$retainKeys`` (keys of the map not listed are cleared),
    ``$deleteFromPrimitiveList/<field>`` and ``$setElementOrder/<field>``.
    Directives never appear in the result.
    """
    if not isinstance(target, dict):
        raise PatchError("strategic merge patch: the target must be an object")
    if not isinstance(patch, dict):
        raise PatchError("strategic merge patch: the patch must be an object")
    if patch.get(_PATCH) == "delete":
        return {}
    return _smp_map(copy.deepcopy(target), patch, "")


def _smp_map(owned: Obj, patch: Obj, where: str) -> Obj:
    """Merge ``patch`` into ``owned`` (which this call may mutate) and return it."""
    directive = patch.get(_PATCH, "merge")
    if directive == "replace":
        return _smp_map({}, {k: v for k, v in patch.items() if k != _PATCH}, where)
    if directive != "merge":
        raise PatchError(f"strategic merge patch at {where or '/'}: unknown $patch {_short(directive)}")

    orders: list[tuple[str, Any]] = []
    retain: Any = None
    for key, value in patch.items():
        if key.startswith(_DELETE_FROM_PRIMITIVE):
            field = key[len(_DELETE_FROM_PRIMITIVE) :]
            current = owned.get(field)
            if isinstance(current, list) and isinstance(value, list):
                owned[field] = [x for x in current if x not in value]
        elif key.startswith(_SET_ELEMENT_ORDER):
            orders.append((key[len(_SET_ELEMENT_ORDER) :], value))
        elif key == _RETAIN_KEYS:
            retain = value
        elif key.startswith("$") and key != _PATCH:
            raise PatchError(f"strategic merge patch at {where or '/'}: unknown directive {key!r}")

    for key, value in patch.items():
        if key.startswith("$"):
            continue
        path = f"{where}/{key}"
        current = owned.get(key)
        if value is None:
            owned.pop(key, None)
        elif isinstance(value, dict):
            if value.get(_PATCH) == "delete":
                owned.pop(key, None)
            else:
                owned[key] = _smp_map(current if isinstance(current, dict) else {}, value, path)
        elif isinstance(value, list):
            owned[key] = _smp_list(key, current if isinstance(current, list) else [], value, path)
        else:
            owned[key] = copy.deepcopy(value)

    for field, order in orders:
        current = owned.get(field)
        if isinstance(current, list) and isinstance(order, list):
            owned[field] = _reorder(field, current, order)

    if isinstance(retain, list):
        for key in [k for k in owned if k not in retain]:
            del owned[key]
    return owned


def _smp_list(field: str, owned: list[Any], patch: list[Any], where: str) -> list[Any]:
    """Merge the patch list for ``field`` into ``owned`` (which this call may mutate)."""
    replace = any(isinstance(e, dict) and e.get(_PATCH) == "replace" for e in patch)
    elements = [e for e in patch if not (isinstance(e, dict) and e.get(_PATCH) == "replace")]

    if field in MERGE_PRIMITIVE_LISTS and not replace:
        for element in elements:
            if element not in owned:
                owned.append(copy.deepcopy(element))
        return owned

    key = _merge_key(field, owned, elements)
    if key is None:
        return copy.deepcopy(elements)
    if replace:
        owned = []

    for i, element in enumerate(elements):
        at = f"{where}/{i}"
        if not isinstance(element, dict):
            raise PatchError(f"strategic merge patch at {at}: element of {field} must be an object")
        if key not in element:
            raise PatchError(f"strategic merge patch at {at}: element lacks merge key {key!r}")
        directive = element.get(_PATCH, "merge")
        if directive == "delete":
            owned = [e for e in owned if not (isinstance(e, dict) and e.get(key) == element[key])]
            continue
        if directive != "merge":
            raise PatchError(f"strategic merge patch at {at}: unknown $patch {_short(directive)}")
        found = _find(owned, key, element[key])
        if found >= 0:
            owned[found] = _smp_map(owned[found], element, at)
        else:
            owned.append(_smp_map({}, element, at))
    return owned


def _reorder(field: str, items: list[Any], order: list[Any]) -> list[Any]:
    """Order ``items`` as listed in ``order``; unlisted items follow in their old order."""
    key = _merge_key(field, items, order)

    def ident(x: Any) -> Any:
        return x.get(key) if key is not None and isinstance(x, dict) else x

    remaining = list(items)
    ordered: list[Any] = []
    for wanted in order:
        wanted_id = ident(wanted)
        for i, item in enumerate(remaining):
            if ident(item) == wanted_id:
                ordered.append(remaining.pop(i))
                break
    return ordered + remaining


# --------------------------------------------------------------------------- kubectl apply


def three_way_apply(last_applied: Obj | None, live: Obj, desired: Obj) -> Obj:
    """Compute the object ``kubectl apply`` leaves behind.

    The result is ``live`` with every field of ``desired`` set, and every field
    that ``last_applied`` held but ``desired`` no longer does removed.  Fields
    that never were in ``last_applied`` (set by other writers such as
    ``kubectl set env`` or controllers) are kept.  Maps are handled
    recursively, lists named in :data:`MERGE_KEYS` merge by key with the same
    rule per element, lists in :data:`MERGE_PRIMITIVE_LISTS` merge as sets, and
    all other lists are replaced by ``desired``'s.  A ``null`` in ``desired``
    removes the field.  ``status`` and the server-owned metadata
    (:data:`SERVER_METADATA_FIELDS`) always come from ``live``.
    """
    result = _apply_map(last_applied, live, desired)

    meta = result.get("metadata")
    if isinstance(meta, dict):
        live_meta = live.get("metadata")
        owned_by_server: Obj = live_meta if isinstance(live_meta, dict) else {}
        for field in SERVER_METADATA_FIELDS:
            if field in owned_by_server:
                meta[field] = copy.deepcopy(owned_by_server[field])
            else:
                meta.pop(field, None)

    if "status" in live:
        result["status"] = copy.deepcopy(live["status"])
    else:
        result.pop("status", None)
    return result


def _apply_map(last: Any, live: Any, desired: Obj) -> Obj:
    result: Obj = copy.deepcopy(live) if isinstance(live, dict) else {}
    if isinstance(last, dict):
        for key in last:
            if key not in desired:
                result.pop(key, None)
    for key, want in desired.items():
        had = last.get(key) if isinstance(last, dict) else None
        have = result.get(key)
        if want is None:
            result.pop(key, None)
        elif isinstance(want, dict):
            result[key] = _apply_map(had, have, want)
        elif isinstance(want, list) and isinstance(have, list):
            result[key] = _apply_list(key, had if isinstance(had, list) else [], have, want)
        else:
            result[key] = _apply_new(want)
    return result


def _apply_new(value: Any) -> Any:
    """A copy of freshly added desired content, with its nulls dropped."""
    if isinstance(value, dict):
        return _apply_map(None, None, value)
    return copy.deepcopy(value)


def _apply_list(field: str, last: list[Any], live: list[Any], desired: list[Any]) -> list[Any]:
    if field in MERGE_PRIMITIVE_LISTS:
        kept = [x for x in live if x in desired or x not in last]
        return copy.deepcopy(kept + [x for x in desired if x not in kept])

    key = _merge_key(field, desired, live)
    if key is None or not all(isinstance(e, dict) and key in e for e in desired):
        return [_apply_new(e) for e in desired]

    result: list[Any] = []
    for want in desired:
        at_live = _find(live, key, want[key])
        if at_live >= 0:
            at_last = _find(last, key, want[key])
            result.append(_apply_map(last[at_last] if at_last >= 0 else None, live[at_live], want))
        else:
            result.append(_apply_new(want))
    for have in live:
        known = isinstance(have, dict) and key in have
        if known and (_find(desired, key, have[key]) >= 0 or _find(last, key, have[key]) >= 0):
            continue  # merged above, or dropped from the manifest
        result.append(copy.deepcopy(have))
    return result


# --------------------------------------------------------------------------- server-side apply


def fields_of(value: Any, field: str = "") -> Obj:
    """The set of fields ``value`` sets, in the FieldsV1 form of ``metadata.managedFields``:
    ``f:<key>`` for map keys, ``k:<merge key JSON>`` for elements of keyed lists, ``{}`` for leaves
    (a list that is not keyed is one leaf: it is owned as a whole)."""
    if isinstance(value, dict):
        return {f"f:{k}": fields_of(v, k) for k, v in value.items() if not str(k).startswith("$")}
    if isinstance(value, list):
        key = _merge_key(field, value)
        if key is None or not all(isinstance(e, dict) and key in e for e in value):
            return {}
        return {f"k:{json.dumps({key: e[key]}, separators=(',', ':'))}": fields_of(e) for e in value}
    return {}


def _prune(obj: Any, removed: Obj) -> None:
    """Delete from ``obj`` every field ``removed`` names (FieldsV1 paths no longer applied)."""
    if not isinstance(obj, dict):
        return
    for path, below in removed.items():
        if not path.startswith("f:"):
            continue
        key = path[2:]
        if key not in obj:
            continue
        if below == {} or below is None:
            del obj[key]
            continue
        child = obj[key]
        if isinstance(child, dict):
            _prune(child, below)
        elif isinstance(child, list):
            for element_path, element_below in below.items():
                if not element_path.startswith("k:"):
                    continue
                ident = json.loads(element_path[2:])
                for element in list(child):
                    if isinstance(element, dict) and all(element.get(k) == v for k, v in ident.items()):
                        if element_below in ({}, None):
                            child.remove(element)
                        else:
                            _prune(element, element_below)


def _difference(before: Obj, after: Obj) -> Obj:
    """Paths in ``before`` that ``after`` no longer has (as a FieldsV1 tree)."""
    out: Obj = {}
    for path, below in before.items():
        if path not in after:
            out[path] = {}
        elif below and isinstance(below, dict):
            deeper = _difference(below, after[path] or {})
            if deeper:
                out[path] = deeper
    return out


class ApplyConflict(Exception):
    """An apply would change fields other managers own: (manager as Kubernetes prints it, field path)."""

    def __init__(self, conflicts: list[tuple[str, str]]) -> None:
        self.conflicts = conflicts
        if len(conflicts) == 1:
            message = f"Apply failed with 1 conflict: conflict with {conflicts[0][0]}: {conflicts[0][1]}"
        else:
            lines = []
            for who in sorted({who for who, _ in conflicts}):
                lines.append(f"conflicts with {who}:")
                lines += [f"- {path}" for other, path in conflicts if other == who]
            message = f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)
        super().__init__(message)


_MISSING = object()


def _leaf_paths(fields: Obj, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Each leaf of a FieldsV1 tree, as its path of ``f:``/``k:`` segments (``.`` markers left out)."""
    out: list[tuple[str, ...]] = []
    for segment, below in fields.items():
        if segment == ".":
            continue
        path = (*prefix, segment)
        out.extend(_leaf_paths(below, path) if isinstance(below, dict) and below else [path])
    return out


def _value_at(obj: Any, path: tuple[str, ...]) -> Any:
    for segment in path:
        if segment.startswith("f:") and isinstance(obj, dict):
            obj = obj.get(segment[2:], _MISSING)
        elif segment.startswith("k:") and isinstance(obj, list):
            ident = json.loads(segment[2:])
            obj = next(
                (e for e in obj if isinstance(e, dict) and all(e.get(k) == v for k, v in ident.items())), _MISSING
            )
        else:
            return _MISSING
        if obj is _MISSING:
            return _MISSING
    return obj


def _manager_text(entry: Obj) -> str:
    version = entry.get("apiVersion")
    return f'"{entry.get("manager")}"' + (f" using {version}" if version else "")


def field_path_text(path: tuple[str, ...]) -> str:
    """A FieldsV1 path as Kubernetes prints it in conflicts: ``.spec.containers[name="app"].image``."""
    out = ""
    for segment in path:
        if segment.startswith("f:"):
            out += f".{segment[2:]}"
        else:
            ident = json.loads(segment[2:])
            out += "[" + ",".join(f"{k}={json.dumps(v)}" for k, v in ident.items()) + "]"
    return out


def _without(fields: Obj, path: tuple[str, ...]) -> Obj:
    """``fields`` with the leaf ``path`` (and the branches it leaves empty) removed."""
    if not path or path[0] not in fields:
        return fields
    out = dict(fields)
    if len(path) == 1:
        del out[path[0]]
        return out
    below = out[path[0]]
    pruned = _without(below, path[1:]) if isinstance(below, dict) else below
    if isinstance(pruned, dict) and not [k for k in pruned if k != "."]:
        del out[path[0]]
    else:
        out[path[0]] = pruned
    return out


def server_side_apply(live: Obj, applied: Obj, manager: str, now: str = "", force: bool = False) -> Obj:
    """Apply ``applied`` as field manager ``manager``: its fields merge into ``live`` (lists by their
    merge keys) and the fields this manager applied before but no longer applies are removed. The
    manager's field set is kept in ``metadata.managedFields``.

    A field another applier owns and this apply would change is a conflict (:class:`ApplyConflict`),
    unless ``force``: then its ownership moves to ``manager``. Setting a field to the value it has
    already is no conflict (the field becomes shared). Owners by other operations than Apply are not
    tracked."""
    applied = copy.deepcopy(applied)
    for key in SERVER_METADATA_FIELDS:
        (applied.get("metadata") or {}).pop(key, None)
    managed = [dict(m) for m in (live.get("metadata") or {}).get("managedFields") or []]
    previous = next((m for m in managed if m.get("manager") == manager and m.get("operation") == "Apply"), None)
    merged = apply_strategic_merge_patch(live, applied)
    new_fields = fields_of({k: v for k, v in applied.items() if k not in ("apiVersion", "kind")})
    conflicts: list[tuple[Obj, tuple[str, ...]]] = []
    for other in managed:
        if other is previous or other.get("operation") != "Apply":
            continue
        owned = set(_leaf_paths(other.get("fieldsV1") or {}))
        for path in _leaf_paths(new_fields):
            if path in owned and _value_at(live, path) != _value_at(merged, path):
                conflicts.append((other, path))
    if conflicts and not force:
        raise ApplyConflict([(_manager_text(other), field_path_text(path)) for other, path in conflicts])
    for other, path in conflicts:  # forced: the fields change hands
        other["fieldsV1"] = _without(other.get("fieldsV1") or {}, path)
    managed = [
        m for m in managed if m is previous or m.get("operation") != "Apply" or _leaf_paths(m.get("fieldsV1") or {})
    ]
    if previous is not None:
        _prune(merged, _difference(previous.get("fieldsV1") or {}, new_fields))
    entry = {
        "manager": manager,
        "operation": "Apply",
        "apiVersion": str(applied.get("apiVersion") or live.get("apiVersion") or ""),
        "time": now,
        "fieldsType": "FieldsV1",
        "fieldsV1": new_fields,
    }
    managed = [m for m in managed if m is not previous] + [entry]
    merged.setdefault("metadata", {})["managedFields"] = managed
    return merged
