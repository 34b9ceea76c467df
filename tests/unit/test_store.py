from __future__ import annotations

from pathlib import Path

import pytest

from remedlab.api.errors import AlreadyExists, Conflict, NotFound
from remedlab.cluster.apiserver.store import Change, Store


def _cm(name: str, value: str = "1") -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "a"}, "data": {"k": value}}


def test_objects_survive_reopening_and_resource_versions_grow(tmp_path: Path) -> None:
    store = Store(tmp_path / "c.db")
    first = store.create(_cm("one"))
    second = store.create(_cm("two"))
    assert int(second["metadata"]["resourceVersion"]) > int(first["metadata"]["resourceVersion"])
    changed = dict(first, data={"k": "2"})
    updated = store.update(changed)
    assert int(updated["metadata"]["resourceVersion"]) > int(second["metadata"]["resourceVersion"])
    assert updated["metadata"]["uid"] == first["metadata"]["uid"]
    store.close()
    reopened = Store(tmp_path / "c.db")
    assert [o["metadata"]["name"] for o in reopened.list_objects("ConfigMap", "a")] == ["one", "two"]
    assert reopened.get("ConfigMap", "a", "one") == updated
    reopened.close()


def test_errors_name_the_object(tmp_path: Path) -> None:
    store = Store(tmp_path / "c.db")
    store.create(_cm("one"))
    with pytest.raises(AlreadyExists, match='configmaps "one" already exists'):
        store.create(_cm("one"))
    with pytest.raises(NotFound, match='configmaps "nope" not found'):
        store.delete("ConfigMap", "a", "nope")
    stale = store.must_get("ConfigMap", "a", "one")
    store.update(dict(stale, data={"k": "x"}))
    with pytest.raises(Conflict):
        store.update(dict(stale, data={"k": "y"}), check_rv=True)
    store.close()


def test_change_feed_and_label_selection(tmp_path: Path) -> None:
    store = Store(tmp_path / "c.db")
    seen: list[str] = []
    store.subscribe(lambda change: seen.append(f"{change.type}:{change.obj['metadata']['name']}"))
    obj = _cm("one")
    obj["metadata"]["labels"] = {"app": "x", "tier": "db"}  # type: ignore[index]
    store.create(obj)
    store.create(_cm("two"))
    store.delete("ConfigMap", "a", "two")
    assert seen == ["ADDED:one", "ADDED:two", "DELETED:two"]
    assert [o["metadata"]["name"] for o in store.list_objects("ConfigMap", "a", "app=x,tier in (db,cache)")] == ["one"]
    assert store.list_objects("ConfigMap", "a", "app!=x") == []
    store.close()


def test_changes_carry_versions_and_the_previous_object(tmp_path: Path) -> None:
    store = Store(tmp_path / "c.db")
    changes: list[Change] = []
    store.subscribe(changes.append)
    created = store.create(_cm("one"))
    updated = store.update(dict(created, data={"k": "y"}))
    deleted = store.delete("ConfigMap", "a", "one")
    assert [c.type for c in changes] == ["ADDED", "MODIFIED", "DELETED"]
    assert [c.rv for c in changes] == [int(o["metadata"]["resourceVersion"]) for o in (created, updated, deleted)]
    assert changes[1].old is not None and changes[1].old.get("data") != {"k": "y"}
    assert int(deleted["metadata"]["resourceVersion"]) > int(updated["metadata"]["resourceVersion"])
    assert store.resource_version() == changes[-1].rv
    store.close()


def test_pages_follow_namespace_and_name_order(tmp_path: Path) -> None:
    store = Store(tmp_path / "c.db")
    for name in ("c", "a", "b"):
        store.create(_cm(name))
    first = store.page("ConfigMap", None, limit=2)
    assert [o["metadata"]["name"] for o in first.objects()] == ["a", "b"] and first.next_key == ("a", "b")
    rest = store.page("ConfigMap", None, limit=2, after=first.next_key)
    assert [o["metadata"]["name"] for o in rest.objects()] == ["c"] and rest.next_key is None
    store.close()
