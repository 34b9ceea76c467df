"""The cluster's object store: SQLite in WAL mode, one row per object.

Every write bumps a cluster-wide resourceVersion, as etcd does, so a restart of
the server loses nothing and clients can tell a stale object from a fresh one.
Objects are kept as Kubernetes-shaped JSON dicts.
"""

from __future__ import annotations

import copy
import json
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from remedlab.api.errors import AlreadyExists, Conflict, NotFound
from remedlab.api.kinds import BY_KIND, Obj
from remedlab.api.labels import matches_selector_string
from remedlab.api.times import now_iso

ChangeType = Literal["ADDED", "MODIFIED", "DELETED"]
Listener = Callable[[ChangeType, Obj], None]

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
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._listeners: list[Listener] = []

    def close(self) -> None:
        self._db.close()

    # ------------------------------------------------------------------ change feed

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def _notify(self, change: ChangeType, obj: Obj) -> None:
        for listener in list(self._listeners):
            listener(change, obj)

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

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
        row = self._db.execute(
            "SELECT data FROM objects WHERE kind=? AND namespace=? AND name=?",
            (kind, self._ns(kind, namespace), name),
        ).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def must_get(self, kind: str, namespace: str | None, name: str) -> Obj:
        obj = self.get(kind, namespace, name)
        if obj is None:
            raise NotFound.of(BY_KIND[kind].plural_qualified if kind in BY_KIND else kind.lower(), name)
        return obj

    def list_objects(
        self,
        kind: str,
        namespace: str | None = None,
        label_selector: str | None = None,
    ) -> list[Obj]:
        if namespace:
            rows = self._db.execute(
                "SELECT data FROM objects WHERE kind=? AND namespace=? ORDER BY name",
                (kind, self._ns(kind, namespace)),
            ).fetchall()
        else:
            rows = self._db.execute(
                "SELECT data FROM objects WHERE kind=? ORDER BY namespace, name", (kind,)
            ).fetchall()
        objs = [dict(json.loads(r[0])) for r in rows]
        if label_selector:
            objs = [o for o in objs if matches_selector_string(label_selector, o["metadata"].get("labels") or {})]
        return objs

    def resource_version(self) -> int:
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
                raise AlreadyExists.of(BY_KIND[kind].plural_qualified if kind in BY_KIND else kind, name)
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
        self._notify("ADDED", obj)
        return obj

    def update(self, obj: Obj, check_rv: bool = False) -> Obj:
        """Replace an object. With check_rv, fail with Conflict if it changed meanwhile."""
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
                raise NotFound.of(BY_KIND[kind].plural_qualified if kind in BY_KIND else kind, name)
            old = json.loads(row[0])
            if check_rv and str(row[1]) != str(meta.get("resourceVersion")):
                raise Conflict(
                    f'Operation cannot be fulfilled on {BY_KIND[kind].plural_qualified} "{name}": '
                    "the object has been modified; please apply your changes to the latest version and try again"
                )
            if old == obj:
                return obj
            rv = self._next_rv(db)
            meta["uid"] = old["metadata"]["uid"]
            meta["creationTimestamp"] = old["metadata"].get("creationTimestamp")
            meta["resourceVersion"] = str(rv)
            generation = old["metadata"].get("generation")
            if generation is not None:
                spec_changed = old.get("spec") != obj.get("spec")
                meta["generation"] = generation + 1 if spec_changed else generation
            db.execute(
                "UPDATE objects SET rv=?, data=? WHERE kind=? AND namespace=? AND name=?",
                (rv, json.dumps(obj), kind, ns, name),
            )
        self._notify("MODIFIED", obj)
        return obj

    def delete(self, kind: str, namespace: str | None, name: str) -> Obj:
        ns = self._ns(kind, namespace)
        with self._tx() as db:
            row = db.execute(
                "SELECT data FROM objects WHERE kind=? AND namespace=? AND name=?", (kind, ns, name)
            ).fetchone()
            if row is None:
                raise NotFound.of(BY_KIND[kind].plural_qualified if kind in BY_KIND else kind, name)
            db.execute("DELETE FROM objects WHERE kind=? AND namespace=? AND name=?", (kind, ns, name))
            self._next_rv(db)
        obj: Obj = json.loads(row[0])
        self._notify("DELETED", obj)
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
