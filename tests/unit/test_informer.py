"""Informers: a cache per kind fed by the store's changes, in order, with handlers that queue keys."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from remedlab.api.kinds import Obj
from remedlab.cluster.apiserver.store import Change, Store
from remedlab.cluster.controllers.informer import EventHandler, InformerFactory, key_of, split_key


def _pod(name: str, namespace: str = "shop", **labels: str) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {"containers": [{"name": "c", "image": "remedlab/busybox"}]},
    }


async def _until(check: Callable[[], bool], timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.005)


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def handler(self) -> EventHandler:
        return EventHandler(
            lambda obj: self.calls.append(("add", key_of(obj))),
            lambda old, new: self.calls.append(
                ("update", key_of(new), old["metadata"]["resourceVersion"], new["metadata"]["resourceVersion"])
            ),
            lambda obj: self.calls.append(("delete", key_of(obj))),
        )


def test_keys_name_namespaced_and_cluster_scoped_objects() -> None:
    assert key_of(_pod("web")) == "shop/web"
    assert key_of({"kind": "Node", "metadata": {"name": "n1"}}) == "n1"
    assert split_key("shop/web") == ("shop", "web")
    assert split_key("n1") == ("", "n1")


def test_an_informer_lists_then_follows_every_change_of_its_kind(tmp_path: Path) -> None:
    async def scenario() -> None:
        store = Store(tmp_path / "cluster.db")
        store.create(_pod("a"))
        store.create(_pod("b", "other"))
        factory = InformerFactory(store)
        pods = factory.informer("Pod")
        recorder = Recorder()
        pods.add_handler(recorder.handler())
        factory.start()
        try:
            assert pods.has_synced
            assert sorted(recorder.calls) == [("add", "other/b"), ("add", "shop/a")]
            assert sorted(pods.keys()) == ["other/b", "shop/a"]
            recorder.calls.clear()

            # a write made on the loop is in the cache as soon as the write returns
            created = store.create(_pod("c"))
            assert pods.get("shop/c") is not None
            updated = dict(created, metadata={**created["metadata"], "labels": {"tier": "web"}})
            store.update(updated)
            assert pods.get_object("shop", "c")["metadata"]["labels"] == {"tier": "web"}  # type: ignore[index]
            store.delete("Pod", "shop", "a")
            assert pods.get("shop/a") is None
            assert sorted(key_of(p) for p in pods.objects("shop")) == ["shop/c"]
            assert [key_of(p) for p in pods.objects()] == ["other/b", "shop/c"]
            rv_created, rv_updated = (
                created["metadata"]["resourceVersion"],
                str(int(created["metadata"]["resourceVersion"]) + 1),
            )
            assert recorder.calls == [
                ("add", "shop/c"),
                ("update", "shop/c", rv_created, rv_updated),
                ("delete", "shop/a"),
            ]
            store.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": "shop"}})
            assert len(recorder.calls) == 3  # other kinds are not its concern
        finally:
            factory.stop()
            store.close()

    asyncio.run(scenario())


def test_changes_written_by_other_threads_arrive_on_the_loop_in_order(tmp_path: Path) -> None:
    async def scenario() -> None:
        store = Store(tmp_path / "cluster.db")
        factory = InformerFactory(store)
        pods = factory.informer("Pod")
        seen: list[tuple[str, str, int]] = []
        loop_thread = threading.get_ident()
        off_loop: list[int] = []

        def note(kind: str) -> Callable[[Obj], None]:
            def call(obj: Obj) -> None:
                if threading.get_ident() != loop_thread:
                    off_loop.append(threading.get_ident())
                seen.append((kind, key_of(obj), int(obj["metadata"]["resourceVersion"])))

            return call

        pods.add_handler(EventHandler(note("add"), lambda _old, new: note("update")(new), note("delete")))
        factory.start()

        def writer(prefix: str) -> None:
            for i in range(20):
                obj = store.create(_pod(f"{prefix}-{i}"))
                obj["metadata"]["labels"] = {"n": str(i)}
                store.update(obj)
                store.delete("Pod", "shop", f"{prefix}-{i}")

        try:
            threads = [threading.Thread(target=writer, args=(p,)) for p in ("x", "y")]
            for t in threads:
                t.start()
            store.create(_pod("from-the-loop"))
            for t in threads:
                t.join()
            await _until(lambda: len(seen) == 121)
            assert off_loop == []
            rvs = [rv for _kind, _key, rv in seen]
            assert rvs == sorted(rvs)  # resourceVersion order, whichever thread wrote
            assert pods.keys() == ["shop/from-the-loop"]
        finally:
            factory.stop()
            store.close()

    asyncio.run(scenario())


def test_the_cache_keeps_its_own_copies(tmp_path: Path) -> None:
    async def scenario() -> None:
        store = Store(tmp_path / "cluster.db")
        factory = InformerFactory(store)
        pods = factory.informer("Pod")
        factory.start()
        try:
            created = store.create(_pod("a", tier="web"))
            created["metadata"]["labels"]["tier"] = "changed by the writer afterwards"
            assert pods.get("shop/a")["metadata"]["labels"] == {"tier": "web"}  # type: ignore[index]
        finally:
            factory.stop()
            store.close()

    asyncio.run(scenario())


def test_handlers_added_late_hear_of_what_is_cached_and_can_be_removed(tmp_path: Path) -> None:
    async def scenario() -> None:
        store = Store(tmp_path / "cluster.db")
        factory = InformerFactory(store)
        pods = factory.informer("Pod")
        factory.start()
        try:
            store.create(_pod("a"))
            recorder = Recorder()
            handler = pods.add_handler(recorder.handler())
            assert recorder.calls == [("add", "shop/a")]
            pods.remove_handler(handler)
            store.create(_pod("b"))
            assert recorder.calls == [("add", "shop/a")]

            # an informer made after the start lists at once
            store.create({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": "shop"}})
            services = factory.informer("Service")
            assert services.keys() == ["shop/s"]
            store.delete("Service", "shop", "s")
            assert len(services) == 0
        finally:
            factory.stop()
            store.close()

    asyncio.run(scenario())


def test_each_hands_both_sides_of_an_update_and_change_handlers_see_other_kinds(tmp_path: Path) -> None:
    async def scenario() -> None:
        store = Store(tmp_path / "cluster.db")
        factory = InformerFactory(store)
        pods = factory.informer("Pod")
        touched: list[str] = []
        pods.add_handler(EventHandler.each(lambda pod: touched.append(pod["metadata"]["labels"].get("app", ""))))
        changes: list[Change] = []
        factory.on_change(changes.append)
        factory.start()
        try:
            created = store.create(_pod("a", app="old"))
            created["metadata"]["labels"] = {"app": "new"}
            store.update(created)
            assert touched == ["old", "old", "new"]
            store.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": "shop"}})
            store.create(
                {
                    "apiVersion": "v1",
                    "kind": "Event",
                    "metadata": {"name": "e", "namespace": "shop"},
                    "involvedObject": {"kind": "Pod", "name": "a", "namespace": "shop"},
                    "reason": "Test",
                    "message": "m",
                }
            )
            assert [(c.type, c.kind) for c in changes] == [
                ("ADDED", "Pod"),
                ("MODIFIED", "Pod"),
                ("ADDED", "ConfigMap"),
            ]  # every kind but Events
        finally:
            factory.stop()
            store.close()

    asyncio.run(scenario())


def test_a_resync_hands_every_cached_object_to_its_handlers_again(tmp_path: Path) -> None:
    async def scenario() -> None:
        store = Store(tmp_path / "cluster.db")
        store.create(_pod("a"))
        factory = InformerFactory(store, resync_period=0.05)
        pods = factory.informer("Pod")
        recorder = Recorder()
        pods.add_handler(recorder.handler())
        factory.start()
        try:
            await _until(lambda: sum(1 for c in recorder.calls if c[0] == "update") >= 2)
            rv = store.must_get("Pod", "shop", "a")["metadata"]["resourceVersion"]
            assert ("update", "shop/a", rv, rv) in recorder.calls
        finally:
            factory.stop()
            store.close()

    asyncio.run(scenario())


def test_a_failing_handler_does_not_stop_the_others(tmp_path: Path) -> None:
    async def scenario() -> None:
        store = Store(tmp_path / "cluster.db")
        factory = InformerFactory(store)
        pods = factory.informer("Pod")

        def broken(_obj: Obj) -> None:
            raise RuntimeError("handler bug")

        recorder = Recorder()
        pods.add_handler(EventHandler(on_add=broken))
        pods.add_handler(recorder.handler())
        factory.start()
        try:
            store.create(_pod("a"))
            assert recorder.calls == [("add", "shop/a")]
            assert pods.get("shop/a") is not None
        finally:
            factory.stop()
            store.close()

    asyncio.run(scenario())
