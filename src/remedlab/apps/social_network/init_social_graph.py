"""init-social-graph: the seed files of a Social Network database, the social graph loaded at first start.

Run as an init container of user-mongodb and social-graph-mongodb (the image's
``init-social-graph`` program), it does what the original's ``scripts/init_social_graph.py`` does
through the front end, but as data for the database's first start: it copies the schema files
(``--schema``, the database's seed ConfigMap) into ``--out`` (the directory the PostgreSQL
container runs seed SQL from, ``/docker-entrypoint-initdb.d``) and writes beside them the rows of
the graph (``--graph``, a dataset of :mod:`remedlab.apps.social_network.graph`):

- ``--database users``: one row of the ``users`` table per user (``username_<i>``, user id ``i``,
  password ``password_<i>`` salted and hashed);
- ``--database social-graph``: one row of ``social_graph`` per user and two of ``follows`` per
  friendship, one each way.

The files are rewritten whole at every run, so a restarted init container leaves them the same.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from remedlab.apps.kit.seed_files import copy_block, copy_schema, copy_value, write_atomically
from remedlab.apps.kit.volumes import container_path
from remedlab.apps.social_network.graph import DEFAULT_DATASET, DatasetError, Graph, generate, load_dataset

PROGRAM = "init-social-graph"
DATABASES = ("users", "social-graph")
__all__ = ["copy_value", "main", "run", "seed_sql"]

DATA_FILE = "50-{database}-rows.sql"


def users_sql(graph: Graph) -> str:
    columns = ("user_id", "first_name", "last_name", "username", "salt", "password")
    rows = ((a.user_id, a.first_name, a.last_name, a.username, a.salt, a.password_hash) for a in graph.accounts())
    return copy_block("users", columns, rows)


def social_graph_sql(graph: Graph) -> str:
    people = copy_block("social_graph", ("user_id",), ((i,) for i in range(graph.users)))
    follows = ((f.user_id, f.followee_id, f.timestamp) for f in graph.follows())
    return people + copy_block("follows", ("user_id", "followee_id", "timestamp"), follows)


def seed_sql(graph: Graph, database: str) -> str:
    body = users_sql(graph) if database == "users" else social_graph_sql(graph)
    size = f"{graph.users} users, {len(graph.edges)} friendships"
    return f"-- the {graph.dataset.name} graph ({size}), made by {PROGRAM}\n{body}ANALYZE;\n"


def run(graph_name: str, database: str, schema: Path, out: Path) -> str:
    """Write the seed files; a one-line summary of what was written."""
    copied = copy_schema(schema, out)
    graph = generate(load_dataset(graph_name))
    target = out / DATA_FILE.format(database=database)
    write_atomically(target, seed_sql(graph, database))
    schema_note = f"schema {', '.join(copied)}" if copied else "no schema files"
    size = f"{graph.users} users, {len(graph.edges)} friendships"
    return f"{graph.dataset.name}: {size} into {target.name} ({schema_note})"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog=PROGRAM, description=__doc__.splitlines()[0])
    parser.add_argument("--graph", default=DEFAULT_DATASET, help="the dataset (default %(default)s)")
    parser.add_argument("--database", required=True, choices=DATABASES, help="the database to seed")
    parser.add_argument("--schema", default="/schema", help="a directory of schema files to copy first")
    parser.add_argument("--out", default="/docker-entrypoint-initdb.d", help="where the seed files go")
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        summary = run(args.graph, args.database, Path(container_path(args.schema)), Path(container_path(args.out)))
    except (DatasetError, OSError) as exc:
        print(f"{PROGRAM}: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(1) from None
    print(f"{PROGRAM}: {summary} in {time.monotonic() - started:.2f} s", flush=True)


if __name__ == "__main__":
    main()
