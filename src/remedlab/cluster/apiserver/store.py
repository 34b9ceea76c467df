"""The cluster's object store: SQLite in WAL mode, one row per object.

Every write bumps a cluster-wide resourceVersion, as etcd does, so a restart of
the server loses nothing and clients can tell a stale object from a fresh one.
Objects are kept as Kubernetes-shaped JSON dicts.
"""

from __future__ import annotations

import copy
import json
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from remedlab.api.errors import AlreadyExists, Conflict, NotFound
from remedlab.api.kinds import BY_KIND, Obj
from remedlab.api.labels import matches_selector_string
from remedlab.api.times import now_iso
from remedlab.paths import private_database

ChangeType = Literal["ADDED", "MODIFIED", "DELETED"]


@dataclass(frozen=True)
class Change:
    """One write to the store, as a watch reports it: the object after the write (for DELETED, the
    object as it was, stamped with the deletion's resourceVersion) and, for MODIFIED and DELETED, before."""

    type: ChangeType
    obj: Obj
    old: Obj | None
    rv: int

    @property
    def kind(self) -> str:
        return str(self.obj["kind"])

    @property
    def namespace(self) -> str:
        return str(self.obj["metadata"].get("namespace") or "")


Listener = Callable[[Change], None]


@dataclass(frozen=True)
class Page:
    """One page of a list: raw JSON objects in (namespace, name) order, the store's resourceVersion
    when it was read, and where the next page starts (None when this is the last)."""

    raw: list[str]
    rv: int
    next_key: tuple[str, str] | None

    def objects(self) -> list[Obj]:
        return [dict(json.loads(r)) for r in self.raw]


_SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    kind TEXT NOT NULL,
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    uid TEXT NOT NULL,
    rv INTEGER NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (kind, namespace, name)
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS processes (
    pod_uid TEXT NOT NULL,
    container TEXT NOT NULL,
    pid INTEGER NOT NULL,
    start_time REAL NOT NULL,
    cgroup TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (pod_uid, container)
);
"""


class Store:
    def __init__(self, path: Path) -> None:
        self.path = path
        private_database(path)  # every object, chaos ones with their ground truth: not for pods to read
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._listeners: list[Listener] = []
        self._lock = threading.RLock()
        self._pending: list[Change] = []

    def close(self) -> None:
        self._db.close()

    @property
    def lock(self) -> threading.RLock:
        """Held while a write commits and tells its listeners: hold it to read and subscribe atomically."""
        return self._lock

    # ------------------------------------------------------------------ change feed

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: Listener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def _notify(self, change: Change) -> None:
        """Queue a change; it is told to listeners once its transaction committed."""
        self._pending.append(change)

    def _flush(self) -> None:
        pending, self._pending = self._pending, []
        for change in pending:
            for listener in list(self._listeners):
                listener(change)

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write: its rows and its change notice happen under the store's lock, so listeners see
        changes in resourceVersion order."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                self._pending.clear()
                raise
            self._db.execute("COMMIT")
            self._flush()

    def _next_rv(self, db: sqlite3.Connection) -> int:
        row = db.execute("SELECT value FROM meta WHERE key='rv'").fetchone()
        rv = int(row[0]) + 1 if row else 1
        db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES('rv', ?)", (str(rv),))
        return rv

    # ------------------------------------------------------------------ meta values

    def get_meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)", (key, value))

    # ------------------------------------------------------------------ reads

    @staticmethod
    def _ns(kind: str, namespace: str | None) -> str:
        info = BY_KIND.get(kind)
        if info is not None and not info.namespaced:
            return ""
        return namespace or ""

    def get(self, kind: str, namespace: str | None, name: str) -> Obj | None:
        with self._lock:
            row = self._db.execute(
                "SELECT data FROM objects WHERE kind=? AND namespace=? AND name=?",
                (kind, self._ns(kind, namespace), name),
            ).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def must_get(self, kind: str, namespace: str | None, name: str) -> Obj:
        obj = self.get(kind, namespace, name)
        if obj is None:
            raise NotFound.of(_plural(kind), name)
        return obj

    def list_objects(
        self,
        kind: str,
        namespace: str | None = None,
        label_selector: str | None = None,
    ) -> list[Obj]:
        objs = self.page(kind, namespace).objects()
        if label_selector:
            objs = [o for o in objs if matches_selector_string(label_selector, o["metadata"].get("labels") or {})]
        return objs

    def page(
        self,
        kind: str,
        namespace: str | None = None,
        limit: int = 0,
        after: tuple[str, str] | None = None,
    ) -> Page:
        """Objects of ``kind`` (in ``namespace``, or all), at most ``limit`` (0: all) after the key ``after``."""
        where = ["kind=?"]
        args: list[object] = [kind]
        if namespace:
            where.append("namespace=?")
            args.append(self._ns(kind, namespace))
        if after is not None:
            where.append("(namespace, name) > (?, ?)")
            args += list(after)
        sql = f"SELECT namespace, name, data FROM objects WHERE {' AND '.join(where)} ORDER BY namespace, name"
        if limit > 0:
            sql += f" LIMIT {int(limit) + 1}"
        with self._lock:
            rv = self._current_rv()
            rows = self._db.execute(sql, args).fetchall()
        next_key = None
        if limit > 0 and len(rows) > limit:
            rows = rows[:limit]
            next_key = (str(rows[-1][0]), str(rows[-1][1]))
        return Page([str(r[2]) for r in rows], rv, next_key)

    def resource_version(self) -> int:
        with self._lock:
            return self._current_rv()

    def _current_rv(self) -> int:
        row = self._db.execute("SELECT value FROM meta WHERE key='rv'").fetchone()
        return int(row[0]) if row else 0

    # ------------------------------------------------------------------ writes

    def create(self, obj: Obj) -> Obj:
        obj = copy.deepcopy(obj)
        kind = obj["kind"]
        meta = obj.setdefault("metadata", {})
        ns = self._ns(kind, meta.get("namespace"))
        if ns:
            meta["namespace"] = ns
        else:
            meta.pop("namespace", None)
        name = meta["name"]
        with self._tx() as db:
            exists = db.execute(
                "SELECT 1 FROM objects WHERE kind=? AND namespace=? AND name=?", (kind, ns, name)
            ).fetchone()
            if exists:
                raise AlreadyExists.of(_plural(kind), name)
            rv = self._next_rv(db)
            meta["uid"] = meta.get("uid") or str(uuid.uuid4())
            meta["resourceVersion"] = str(rv)
            meta["creationTimestamp"] = meta.get("creationTimestamp") or now_iso()
            if "spec" in obj or "template" in obj:
                meta["generation"] = 1
            db.execute(
                "INSERT INTO objects(kind, namespace, name, uid, rv, data) VALUES(?,?,?,?,?,?)",
                (kind, ns, name, meta["uid"], rv, json.dumps(obj)),
            )
            self._notify(Change("ADDED", obj, None, rv))
        return obj

    def update(self, obj: Obj, check_rv: bool = False) -> Obj:
        """Replace an object. With check_rv, fail with Conflict if it changed since the
        resourceVersion ``obj`` carries (optimistic concurrency, as the API server does for PUT)."""
        obj = copy.deepcopy(obj)
        kind = obj["kind"]
        meta = obj["metadata"]
        ns = self._ns(kind, meta.get("namespace"))
        name = meta["name"]
        with self._tx() as db:
            row = db.execute(
                "SELECT data, rv FROM objects WHERE kind=? AND namespace=? AND name=?", (kind, ns, name)
            ).fetchone()
            if row is None:
                raise NotFound.of(_plural(kind), name)
            old = json.loads(row[0])
            if check_rv and meta.get("resourceVersion") and str(row[1]) != str(meta.get("resourceVersion")):
                raise Conflict.modified(_plural(kind), name)
            meta["uid"] = old["metadata"]["uid"]
            meta["creationTimestamp"] = old["metadata"].get("creationTimestamp")
            meta["resourceVersion"] = old["metadata"]["resourceVersion"]
            generation = old["metadata"].get("generation")
            if generation is not None:
                spec_changed = old.get("spec") != obj.get("spec")
                meta["generation"] = generation + 1 if spec_changed else generation
            if old == obj:
                return obj
            rv = self._next_rv(db)
            meta["resourceVersion"] = str(rv)
            db.execute(
                "UPDATE objects SET rv=?, data=? WHERE kind=? AND namespace=? AND name=?",
                (rv, json.dumps(obj), kind, ns, name),
            )
            self._notify(Change("MODIFIED", obj, old, rv))
        return obj

    def delete(self, kind: str, namespace: str | None, name: str, uid: str | None = None) -> Obj:
        """Remove an object; with ``uid``, only that instance of it (Conflict if it was replaced)."""
        ns = self._ns(kind, namespace)
        with self._tx() as db:
            row = db.execute(
                "SELECT data FROM objects WHERE kind=? AND namespace=? AND name=?", (kind, ns, name)
            ).fetchone()
            if row is None:
                raise NotFound.of(_plural(kind), name)
            obj: Obj = json.loads(row[0])
            if uid is not None and obj["metadata"].get("uid") != uid:
                raise Conflict(
                    f'Operation cannot be fulfilled on {_plural(kind)} "{name}": Precondition failed: '
                    f"UID in precondition: {uid}, UID in object meta: {obj['metadata'].get('uid')}"
                )
            db.execute("DELETE FROM objects WHERE kind=? AND namespace=? AND name=?", (kind, ns, name))
            rv = self._next_rv(db)
            old = copy.deepcopy(obj)
            obj["metadata"]["resourceVersion"] = str(rv)
            self._notify(Change("DELETED", obj, old, rv))
        return obj

    # ------------------------------------------------------------------ pod processes

    def record_process(self, pod_uid: str, container: str, pid: int, start_time: float, cgroup: str) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO processes(pod_uid, container, pid, start_time, cgroup) VALUES(?,?,?,?,?)",
            (pod_uid, container, pid, start_time, cgroup),
        )

    def forget_process(self, pod_uid: str, container: str) -> None:
        self._db.execute("DELETE FROM processes WHERE pod_uid=? AND container=?", (pod_uid, container))

    def recorded_processes(self) -> list[tuple[str, str, int, float, str]]:
        rows = self._db.execute("SELECT pod_uid, container, pid, start_time, cgroup FROM processes").fetchall()
        return [(str(a), str(b), int(c), float(d), str(e)) for a, b, c, d, e in rows]


def _plural(kind: str) -> str:
    return BY_KIND[kind].plural_qualified if kind in BY_KIND else kind.lower()
