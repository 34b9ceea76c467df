"""Media Microservices without a cluster: the generated catalog, its seed files, the review and movie
records, compose-review's assembly of a review, the manifests (the original's names, ports, programs
and stores) and the workload mix."""

from __future__ import annotations

import json
import random
import urllib.parse
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
import yaml

from remedlab.apps.catalog import app_manifests, get_app
from remedlab.apps.kit.rpc import BadRequest, RpcError
from remedlab.apps.media_microservices import compose_review, init_media
from remedlab.apps.media_microservices.cache_keys import cache_key
from remedlab.apps.media_microservices.dataset import DatasetError, generate, load_spec, parse_spec, titles
from remedlab.apps.media_microservices.movie import Cast, CastInfo, MovieInfo
from remedlab.apps.media_microservices.review import Review, rating_value
from remedlab.cluster.apiserver.validation import validate_object
from remedlab.observe.workload.mix import load_app_mix

APP = get_app("media-microservices")
NS = "media-microservices"
APPS = Path(str(files("remedlab.apps")))
SERVICES = {
    "compose-review-service": "ComposeReviewService",
    "movie-id-service": "MovieIdService",
    "text-service": "TextService",
    "unique-id-service": "UniqueIdService",
    "rating-service": "RatingService",
    "user-service": "UserService",
    "review-storage-service": "ReviewStorageService",
    "user-review-service": "UserReviewService",
    "movie-review-service": "MovieReviewService",
    "cast-info-service": "CastInfoService",
    "plot-service": "PlotService",
    "movie-info-service": "MovieInfoService",
    "page-service": "PageService",
}
# each service's stores, as the original's docker-compose and helm chart give them
STORES = {
    "compose-review-service": {"MEMCACHED_ADDR": "compose-review-memcached:11211"},
    "movie-id-service": {"DATABASE_ADDR": "movie-id-mongodb:5432", "MEMCACHED_ADDR": "movie-id-memcached:11211"},
    "rating-service": {"REDIS_ADDR": "rating-redis:6379"},
    "user-service": {"DATABASE_ADDR": "user-mongodb:5432", "MEMCACHED_ADDR": "user-memcached:11211"},
    "review-storage-service": {
        "DATABASE_ADDR": "review-storage-mongodb:5432",
        "MEMCACHED_ADDR": "review-storage-memcached:11211",
    },
    "user-review-service": {"DATABASE_ADDR": "user-review-mongodb:5432", "REDIS_ADDR": "user-review-redis:6379"},
    "movie-review-service": {"DATABASE_ADDR": "movie-review-mongodb:5432", "REDIS_ADDR": "movie-review-redis:6379"},
    "cast-info-service": {"DATABASE_ADDR": "cast-info-mongodb:5432", "MEMCACHED_ADDR": "cast-info-memcached:11211"},
    "plot-service": {"DATABASE_ADDR": "plot-mongodb:5432", "MEMCACHED_ADDR": "plot-memcached:11211"},
    "movie-info-service": {"DATABASE_ADDR": "movie-info-mongodb:5432", "MEMCACHED_ADDR": "movie-info-memcached:11211"},
}


def _by_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in app_manifests(APP) if doc["kind"] == kind}


def test_the_catalog_is_the_same_for_the_same_file_and_well_formed() -> None:
    spec = load_spec()
    catalog = generate(spec)
    assert catalog == generate(spec)
    assert len(catalog.movies) == 100 and len(catalog.people) == 300 and len(catalog.users) == 1000
    assert len({m.title for m in catalog.movies}) == 100
    assert [m.movie_id for m in catalog.movies] == [str(100000 + i) for i in range(100)]
    for movie in catalog.movies:
        ids = [c.cast_info_id for c in movie.casts]
        assert 3 <= len(ids) <= 6 and len(set(ids)) == len(ids) and all(1 <= i <= 300 for i in ids)
        assert 5.0 <= movie.avg_rating <= 9.5 and movie.plot
    assert catalog.users[7].username == "username_7" and catalog.users[7].password == "password_7"


def test_a_malformed_catalog_file_is_named() -> None:
    data = yaml.safe_load((APPS / "media_microservices/data/catalog.yaml").read_text())
    with pytest.raises(DatasetError, match="cast_per_movie"):
        parse_spec({**data, "cast_per_movie": [4, 2]})
    with pytest.raises(DatasetError, match="movies"):
        parse_spec({**data, "movies": 0})
    with pytest.raises(DatasetError, match="distinct titles"):
        parse_spec({**data, "adjectives": ["One"], "nouns": ["Two"]})


def test_init_media_writes_each_databases_rows_beside_its_schema(tmp_path: Path) -> None:
    schema, out = tmp_path / "schema", tmp_path / "out"
    schema.mkdir()
    (schema / "01-plot.sql").write_text("CREATE TABLE plot (plot_id bigint, plot text);\n")
    init_media.main(["--database", "plot", "--schema", str(schema), "--out", str(out)])
    init_media.main(["--database", "movie-info", "--schema", str(tmp_path / "none"), "--out", str(out)])
    assert sorted(p.name for p in out.iterdir()) == ["01-plot.sql", "50-movie-info-rows.sql", "50-plot-rows.sql"]
    plot_rows = (out / "50-plot-rows.sql").read_text().splitlines()
    assert plot_rows[1] == "COPY plot (plot_id, plot) FROM stdin;" and plot_rows[-1] == "ANALYZE;"
    assert len(plot_rows) == 1 + 1 + 100 + 1 + 1
    first = generate(load_spec()).movies[0]
    row = (out / "50-movie-info-rows.sql").read_text().splitlines()[2].split("\t")
    assert row[:2] == [first.movie_id, first.title]
    casts = [Cast.from_json(cast) for cast in json.loads(row[2])]
    assert casts == [Cast(c.cast_id, c.character, c.cast_info_id) for c in first.casts]
    with pytest.raises(SystemExit):
        init_media.main(["--database", "nope"])


def test_reviews_and_movie_records_read_back_as_written() -> None:
    review = Review(review_id=1, user_id=2, req_id=3, text="good", movie_id="100000", rating=7, timestamp=4)
    assert Review.from_json(review.to_json()) == review
    assert rating_value("10") == 10 and rating_value(0) == 0
    for bad in ("11", "-1", "seven", True, None):
        with pytest.raises(BadRequest, match="rating"):
            rating_value(bad)
    info = CastInfo.from_json({"cast_info_id": "5", "name": "Ada", "gender": "true", "intro": "x"})
    assert info == CastInfo(5, "Ada", True, "x") and CastInfo.from_json(info.to_json()) == info
    with pytest.raises(BadRequest, match="gender"):
        CastInfo.from_json({"cast_info_id": 5, "name": "Ada", "gender": "maybe"})
    movie = MovieInfo.from_json({"movie_id": "9", "title": "T", "plot_id": 3, "casts": [], "avg_rating": "7.5"})
    assert movie.avg_rating == 7.5 and movie.num_rating == 0 and MovieInfo.from_json(movie.to_json()) == movie
    with pytest.raises(BadRequest, match="avg_rating"):
        MovieInfo.from_json({"movie_id": "9", "title": "T", "plot_id": 3, "avg_rating": "nan"})


def test_compose_review_puts_a_review_together_from_its_five_parts() -> None:
    parts = {"review_id": 11, "user_id": 12, "text": "fine", "movie_id": "100001", "rating": 6}
    review = compose_review.review_of(99, parts, 1234)
    assert review == Review(11, 12, 99, "fine", "100001", 6, 1234)
    assert compose_review.part_key(99, "rating") == "99:rating"
    with pytest.raises(RpcError, match="lacks text, rating"):
        compose_review.review_of(99, {k: v for k, v in parts.items() if k not in ("text", "rating")}, 1)


def test_cache_keys_hold_no_spaces_and_fit_memcached() -> None:
    assert cache_key("Paper Voyage", "movie_id") == "Paper%20Voyage:movie_id"
    assert cache_key("x" * 300, "movie_id") is None


def test_manifests_validate_with_the_originals_names_ports_programs_and_stores() -> None:
    docs = app_manifests(APP)
    assert docs[0]["kind"] == "Namespace" and docs[0]["metadata"]["name"] == NS
    for doc in docs:
        validate_object(doc)
    services, deployments = _by_kind("Service"), _by_kind("Deployment")
    stores = {addr.split(":")[0]: int(addr.split(":")[1]) for env in STORES.values() for addr in env.values()}
    ports = {name: 9090 for name in SERVICES} | {"nginx-web-server": 8080} | stores
    assert set(services) == set(deployments) == set(ports) and len(deployments) == 32
    for name, port in ports.items():
        (svc_port,) = services[name]["spec"]["ports"]
        assert svc_port["port"] == svc_port["targetPort"] == port, name
    images = yaml.safe_load((APPS / "images.yaml").read_text())["images"]
    for name, program in SERVICES.items():
        (container,) = deployments[name]["spec"]["template"]["spec"]["containers"]
        assert container["command"] == [program] and program in images["remedlab/media-microservices"]["binaries"]
        env = {item["name"]: item.get("value") for item in container["env"]}
        addresses = {key: value for key, value in env.items() if key.endswith("_ADDR")}
        assert addresses == STORES.get(name, {}), name
    seeded = {"movie-id-mongodb", "movie-info-mongodb", "cast-info-mongodb", "plot-mongodb", "user-mongodb"}
    for name in stores:
        init = deployments[name]["spec"]["template"]["spec"].get("initContainers", [])
        assert [c["command"] for c in init] == ([["init-media"]] if name in seeded else []), name


def test_the_catalog_entry_targets_every_service_and_some_databases() -> None:
    assert set(APP.targets["default"]) == set(SERVICES) | {"nginx-web-server"}
    assert set(APP.targets["disk-io"]) <= {name for name in _by_kind("Deployment") if name.endswith("-mongodb")}


def test_the_workload_reads_pages_and_composes_reviews_of_the_catalog() -> None:
    mix = load_app_mix(APP)
    assert (mix.service, mix.port) == ("nginx-web-server", 8080)
    assert mix.shares() == pytest.approx({"read-page": 0.7, "compose-review": 0.3})
    known = set(titles(load_spec()))
    rng = random.Random(3)
    for _ in range(2000):
        request = mix.next_request(rng)
        path, _, query_string = request.path.partition("?")
        if request.name == "read-page":
            query = dict(urllib.parse.parse_qsl(query_string))
            assert path == "/wrk2-api/page/read" and 100000 <= int(query["movie_id"]) <= 100099
            assert int(query["review_stop"]) == int(query["review_start"]) + 10
        else:
            form = dict(urllib.parse.parse_qsl(request.body))
            assert (request.method, path) == ("POST", "/wrk2-api/review/compose")
            assert form["title"] in known and form["password"] == form["username"].replace("username", "password")
            assert 0 <= int(form["rating"]) <= 10 and len(form["text"]) == 256
