"""init-media: the seed files of a Media Microservices database, the starting catalog loaded at first start.

Run as an init container of a ``-mongodb`` store (the image's ``init-media`` program), it does what
the original's ``scripts/write_movie_info.py`` and ``register_users.sh`` do through the front end,
but as data for the database's first start: it copies the schema files (``--schema``, the
database's seed ConfigMap) into ``--out`` (``/docker-entrypoint-initdb.d``) and writes beside them
the rows of the catalog (:mod:`remedlab.apps.media_microservices.dataset`) that ``--database`` holds:

- ``movie-id``: each movie's title and id; ``movie-info``: each movie's record;
- ``cast-info``: the cast's people; ``plot``: the plots;
- ``user``: the users (``username_<i>``, id ``i``, password ``password_<i>`` salted and hashed).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

from remedlab.apps.kit.seed_files import copy_block, copy_schema, write_atomically
from remedlab.apps.kit.volumes import container_path
from remedlab.apps.media_microservices.dataset import Catalog, DatasetError, generate, load_spec

PROGRAM = "init-media"
DATA_FILE = "50-{database}-rows.sql"


def movie_id_rows(catalog: Catalog) -> str:
    return copy_block("movie_id", ("title", "movie_id"), ((m.title, m.movie_id) for m in catalog.movies))


def movie_info_rows(catalog: Catalog) -> str:
    columns: tuple[str, ...] = ("movie_id", "title", "casts", "plot_id", "thumbnail_ids", "photo_ids")
    columns += ("video_ids", "avg_rating", "num_rating")
    rows = (
        (
            m.movie_id,
            m.title,
            json.dumps(
                [{"cast_id": c.cast_id, "character": c.character, "cast_info_id": c.cast_info_id} for c in m.casts]
            ),
            m.plot_id,
            json.dumps(list(m.thumbnail_ids)),
            json.dumps(list(m.photo_ids)),
            json.dumps(list(m.video_ids)),
            m.avg_rating,
            m.num_rating,
        )
        for m in catalog.movies
    )
    return copy_block("movie_info", columns, rows)


def cast_info_rows(catalog: Catalog) -> str:
    rows = ((p.cast_info_id, p.name, p.gender, p.intro) for p in catalog.people)
    return copy_block("cast_info", ("cast_info_id", "name", "gender", "intro"), rows)


def plot_rows(catalog: Catalog) -> str:
    return copy_block("plot", ("plot_id", "plot"), ((m.plot_id, m.plot) for m in catalog.movies))


def user_rows(catalog: Catalog) -> str:
    columns = ("user_id", "first_name", "last_name", "username", "salt", "password")
    rows = ((a.user_id, a.first_name, a.last_name, a.username, a.salt, a.password_hash) for a in catalog.users)
    return copy_block("users", columns, rows)


ROWS: dict[str, Callable[[Catalog], str]] = {
    "movie-id": movie_id_rows,
    "movie-info": movie_info_rows,
    "cast-info": cast_info_rows,
    "plot": plot_rows,
    "user": user_rows,
}


def seed_sql(catalog: Catalog, database: str) -> str:
    size = f"{len(catalog.movies)} movies, {len(catalog.people)} people, {len(catalog.users)} users"
    return f"-- the starting catalog ({size}), made by {PROGRAM}\n{ROWS[database](catalog)}ANALYZE;\n"


def run(database: str, schema: Path, out: Path) -> str:
    """Write the seed files; a one-line summary of what was written."""
    copied = copy_schema(schema, out)
    target = out / DATA_FILE.format(database=database)
    write_atomically(target, seed_sql(generate(load_spec()), database))
    schema_note = f"schema {', '.join(copied)}" if copied else "no schema files"
    return f"{database} rows into {target.name} ({schema_note})"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog=PROGRAM, description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True, choices=sorted(ROWS), help="the database to seed")
    parser.add_argument("--schema", default="/schema", help="a directory of schema files to copy first")
    parser.add_argument("--out", default="/docker-entrypoint-initdb.d", help="where the seed files go")
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        summary = run(args.database, Path(container_path(args.schema)), Path(container_path(args.out)))
    except (DatasetError, OSError) as exc:
        print(f"{PROGRAM}: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(1) from None
    print(f"{PROGRAM}: {summary} in {time.monotonic() - started:.2f} s", flush=True)


if __name__ == "__main__":
    main()
