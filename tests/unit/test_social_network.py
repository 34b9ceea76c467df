"""Social Network: the generated social graph and its seed files, the services' logic, the order of
compose-post's calls, the front end's answers, the manifests and the workload mix."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import random
import statistics
import urllib.parse
from collections.abc import Awaitable, Callable
from dataclasses import replace
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from remedlab.apps.catalog import app_manifests, get_app
from remedlab.apps.kit import ids
from remedlab.apps.kit.client import ServiceClient
from remedlab.apps.kit.fields import MAX_ID, id_value, json_list_field
from remedlab.apps.kit.passwords import new_salt, password_hash
from remedlab.apps.kit.rpc import CLIENT, BadRequest
from remedlab.apps.social_network import (
    compose_post,
    home_timeline,
    init_social_graph,
    media,
    nginx_thrift,
    text,
    user,
    user_timeline,
)
from remedlab.apps.social_network.graph import DatasetError, generate, load_dataset, parse_dataset
from remedlab.apps.social_network.post import Creator, Media, Post, PostType, Url, UserMention, front_end_post
from remedlab.apps.social_network.rpc import rpc_path
from remedlab.apps.social_network.user_cache import login_key, user_id_key
from remedlab.cluster.apiserver.validation import validate_object
from remedlab.observe.workload.mix import PathTemplate, TemplateError, load_app_mix

APP = get_app("social-network")
NS = "social-network"
APPS = Path(str(files("remedlab.apps")))
SERVICES = {
    "compose-post-service": "ComposePostService",
    "home-timeline-service": "HomeTimelineService",
    "media-service": "MediaService",
    "post-storage-service": "PostStorageService",
    "social-graph-service": "SocialGraphService",
    "text-service": "TextService",
    "unique-id-service": "UniqueIdService",
    "url-shorten-service": "UrlShortenService",
    "user-mention-service": "UserMentionService",
    "user-service": "UserService",
    "user-timeline-service": "UserTimelineService",
}
# the original's MongoDBs, each a PostgreSQL server of the same name: database (and role), tables
MONGODBS = {
    "post-storage-mongodb": ("post", ["post"]),
    "social-graph-mongodb": ("social_graph", ["social_graph", "follows"]),
    "url-shorten-mongodb": ("url_shorten", ["url_shorten"]),
    "user-mongodb": ("users", ["users"]),
    "user-timeline-mongodb": ("user_timeline", ["user_timeline"]),
    "media-mongodb": ("media", ["media"]),
}
MEMCACHED = ("post-storage-memcached", "url-shorten-memcached", "user-memcached", "media-memcached")
REDIS = ("home-timeline-redis", "social-graph-redis", "user-timeline-redis")
# which stores each service uses, as the original's service-config.json wires them, and how it finds them
STORE_KINDS = {
    "mongodb": ("DATABASE_ADDR", 5432),
    "memcached": ("MEMCACHED_ADDR", 11211),
    "redis": ("REDIS_ADDR", 6379),
}
USES = {
    "home-timeline-service": ["home-timeline-redis"],
    "post-storage-service": ["post-storage-mongodb", "post-storage-memcached"],
    "social-graph-service": ["social-graph-mongodb", "social-graph-redis"],
    "url-shorten-service": ["url-shorten-mongodb", "url-shorten-memcached"],
    "user-mention-service": ["user-mongodb", "user-memcached"],
    "user-service": ["user-mongodb", "user-memcached"],
    "user-timeline-service": ["user-timeline-mongodb", "user-timeline-redis"],
}


def store_addresses(service: str) -> dict[str, str]:
    """The ``*_ADDR`` variables of a service: where its stores are."""
    addresses = {}
    for store in USES.get(service, []):
        variable, port = STORE_KINDS[store.rsplit("-", 1)[1]]
        addresses[variable] = f"{store}:{port}"
    return addresses


def run(coro: Awaitable[Any]) -> Any:
    async def wrapped() -> Any:
        return await coro

    return asyncio.run(wrapped())


# --------------------------------------------------------------------------- the social graph


def test_the_default_graph_has_socfb_reed98s_size_and_shape() -> None:
    dataset = load_dataset()
    assert (dataset.name, dataset.users, dataset.edges) == ("socfb-Reed98", 962, 18_812)
    graph = generate(dataset)
    assert graph.users == 962 and len(graph.edges) == 18_812
    assert all(0 <= a < b < 962 for a, b in graph.edges)  # no self-loops, each pair once, ordered
    assert len(set(graph.edges)) == 18_812
    degrees = graph.degrees()
    assert sum(degrees) == 2 * 18_812 and min(degrees) >= 1  # nobody without a friend
    # socfb-Reed98: degrees 1..313, median 29, mean 39.1
    assert 24 <= statistics.median(degrees) <= 34
    assert statistics.mean(degrees) == pytest.approx(39.1, abs=0.05)
    assert 200 <= max(degrees) <= 450
    assert sum(d >= 100 for d in degrees) >= 20  # a few very social people, as in a real network


def test_the_graph_is_the_same_for_the_same_seed_and_changes_with_it() -> None:
    dataset = load_dataset()
    assert generate(dataset).edges == generate(dataset).edges
    other = generate(replace(dataset, seed=dataset.seed + 1))
    assert len(other.edges) == 18_812 and other.edges != generate(dataset).edges


def test_follows_go_both_ways_and_accounts_are_the_original_init_scripts() -> None:
    graph = generate(load_dataset())
    follows = list(graph.follows())
    assert len(follows) == 2 * 18_812
    pairs = {(f.user_id, f.followee_id) for f in follows}
    assert all((b, a) in pairs for a, b in pairs)
    times = [f.timestamp for f in follows]
    assert times == sorted(times) and len(set(times)) == len(times)
    accounts = list(graph.accounts())
    assert [a.user_id for a in accounts] == list(range(962))
    seventh = accounts[7]
    assert (seventh.username, seventh.first_name, seventh.last_name) == ("username_7", "first_name_7", "last_name_7")
    assert seventh.password_hash == hashlib.sha256(("password_7" + seventh.salt).encode()).hexdigest()
    assert len({a.salt for a in accounts}) == 962 and all(len(a.salt) == 32 for a in accounts)
    assert accounts == list(graph.accounts())  # the same salts every time


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"users": 1}, "users must be a whole number"),
        ({"edges": 10**9}, "at most"),
        ({"edges": 3}, "cannot give each"),
        ({"degrees": {"median": 0, "sigma": 1}}, "median"),
        ({"accounts": {"username": "user", "first_name": "{i}", "last_name": "{i}", "password": "{i}"}}, "{i}"),
        ({"seed": "x"}, "seed"),
    ],
)
def test_a_malformed_dataset_is_refused_naming_the_field(change: dict[str, Any], message: str) -> None:
    data = yaml.safe_load((APPS / "social_network" / "data" / "socfb-Reed98.yaml").read_text())
    with pytest.raises(DatasetError, match=message.replace("{", r"\{").replace("}", r"\}")):
        parse_dataset({**data, **change}, "test")
    with pytest.raises(DatasetError, match="no dataset"):
        load_dataset("no-such-graph")


def test_init_social_graph_writes_the_schema_and_the_rows_of_each_database(tmp_path: Path) -> None:
    schema = tmp_path / "schema"
    schema.mkdir()
    (schema / "01-user.sql").write_text("CREATE TABLE users (user_id bigint);\n")
    out = tmp_path / "initdb"
    init_social_graph.main(["--database", "users", "--schema", str(schema), "--out", str(out)])
    init_social_graph.main(["--database", "social-graph", "--schema", str(tmp_path / "none"), "--out", str(out)])
    assert sorted(p.name for p in out.iterdir()) == ["01-user.sql", "50-social-graph-rows.sql", "50-users-rows.sql"]

    def copied_rows(sql: str, table: str) -> list[list[str]]:
        block = sql.split(f"COPY {table} ", 1)[1].split("\n\\.\n", 1)[0]
        return [line.split("\t") for line in block.splitlines()[1:]]

    users_sql = (out / "50-users-rows.sql").read_text()
    rows = copied_rows(users_sql, "users")
    assert len(rows) == 962 and rows[3][:4] == ["3", "first_name_3", "last_name_3", "username_3"]
    assert rows[3][5] == password_hash("password_3", rows[3][4])
    graph_sql = (out / "50-social-graph-rows.sql").read_text()
    assert len(copied_rows(graph_sql, "social_graph")) == 962
    follows = copied_rows(graph_sql, "follows")
    assert len(follows) == 37_624 and all(len(row) == 3 for row in follows)
    # the same files again at a second run (a restarted init container)
    init_social_graph.main(["--database", "users", "--schema", str(schema), "--out", str(out)])
    assert (out / "50-users-rows.sql").read_text() == users_sql
    assert init_social_graph.copy_value("a\tb\\c\nd") == "a\\tb\\\\c\\nd"


# --------------------------------------------------------------------------- the services' logic


def test_ids_are_machine_time_and_counter_in_16_hex_digits() -> None:
    assert ids.compose_id("abc", 0x123456789A, 0x5) == 0x2BC123456789A005  # the sign bit cleared
    assert ids.compose_id("fff", 0xFFFFFFFFFF, 0xFFF) == 0x7FFFFFFFFFFFFFFF
    maker = ids.IdMaker("0a1")
    now = ids.CUSTOM_EPOCH_MS + 1000
    made = [maker.next(now), maker.next(now), maker.next(now + 1), maker.next(now - 5)]
    assert len(set(made)) == 4 and made[0] < made[1] < made[2] < made[3]
    assert f"{made[0]:016x}" == "0a1" + f"{1000:010x}" + "000"
    assert len(ids.this_machine()) == 3


def test_text_finds_mentions_and_links_and_puts_the_short_urls_in() -> None:
    post = "hi @alice and @bob_2-x, see https://example.com/a and http://x.org?q=1 @alice"
    assert text.mentioned_usernames(post) == ["alice", "bob_2-x", "alice"]
    # the original's URL pattern stops at a slash or a question mark
    assert text.links(post) == ["https://example.com", "http://x.org"]
    urls = [Url("http://short-url/AAAAAAAAAA", "https://example.com"), Url("http://short-url/BBBBBBBBBB", "")]
    assert text.with_short_urls(post, urls) == (
        "hi @alice and @bob_2-x, see http://short-url/AAAAAAAAAA/a and http://short-url/BBBBBBBBBB?q=1 @alice"
    )
    assert text.with_short_urls("no links", []) == "no links"


def test_media_pairs_ids_and_types_and_refuses_lists_of_different_lengths() -> None:
    assert media.compose_media(["png", "jpg"], [1, 2]) == [Media(1, "png"), Media(2, "jpg")]
    with pytest.raises(BadRequest, match="lengths"):
        media.compose_media(["png"], [1, 2])


def test_home_timelines_get_the_post_of_each_follower_and_mention_once() -> None:
    commands = home_timeline.timeline_additions([3, 1, 2], [2, 9], post_id=77, timestamp=1234)
    assert commands == [["ZADD", str(reader), "NX", 1234, 77] for reader in (1, 2, 3, 9)]
    assert home_timeline.timeline_additions([], [], 77, 1234) == []


def test_a_user_timeline_slice_merges_redis_and_the_table_without_repeats() -> None:
    # Redis holds the two newest; the table the five newest
    assert user_timeline.merge_slice([50, 40], [50, 40, 30, 20, 10], start=0) == [50, 40, 30, 20, 10]
    assert user_timeline.merge_slice([], [50, 40, 30], start=1) == [40, 30]
    assert user_timeline.merge_slice([40], [50, 40, 30], start=1) == [40, 30]
    assert user_timeline.merge_slice([50, 40], [50, 40, 30], start=0) == [50, 40, 30]


def test_posts_travel_as_the_thrift_structs_and_reach_users_with_ids_as_text() -> None:
    post = Post(
        post_id=2**62,
        creator=Creator(7, "username_7"),
        req_id=99,
        text="hello @username_8",
        user_mentions=(UserMention(8, "username_8"),),
        media=(Media(123456789012345678, "png"),),
        urls=(Url("http://short-url/abcdefghij", "http://example.com"),),
        timestamp=1_700_000_000_000,
        post_type=PostType.POST,
    )
    assert Post.from_json(json.loads(json.dumps(post.to_json()))) == post
    shown = front_end_post(post)
    assert shown["post_id"] == str(2**62) and shown["creator"] == {"user_id": "7", "username": "username_7"}
    assert shown["user_mentions"] == [{"user_id": "8", "username": "username_8"}]
    assert shown["media"] == [{"media_id": "123456789012345678", "media_type": "png"}]
    assert shown["timestamp"] == "1700000000000" and shown["post_type"] == 0
    with pytest.raises(BadRequest, match="post_type"):
        Post.from_json({**post.to_json(), "post_type": 7})
    with pytest.raises(BadRequest, match="creator"):
        Post.from_json({**post.to_json(), "creator": None})


def test_ids_are_i64_numbers_or_decimal_text() -> None:
    assert id_value(5, "user_id") == 5 and id_value(" 12 ", "user_id") == 12 and id_value(MAX_ID, "x") == MAX_ID
    for bad in (-1, "-1", "12a", True, 1.5, MAX_ID + 1, None):
        with pytest.raises(BadRequest, match="user_id"):
            id_value(bad, "user_id")
    assert json_list_field({"media_ids": '["1", "2"]'}, "media_ids") == ["1", "2"]
    assert json_list_field({}, "media_ids") == []
    with pytest.raises(BadRequest, match="JSON list"):
        json_list_field({"media_ids": "[1"}, "media_ids")


def test_user_passwords_and_login_tokens() -> None:
    salt = new_salt()
    assert len(salt) == 32 and new_salt() != salt
    stored = password_hash("password_3", salt)
    assert user.matches("password_3", salt, stored) and user.matches("password_3", salt, stored.upper())
    assert not user.matches("password_4", salt, stored)
    token = user.jwt_token({"user_id": "3", "username": "username_3"}, b"secret")
    header, payload, signature = token.split(".")

    def decode(part: str) -> bytes:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))

    assert json.loads(decode(header)) == {"alg": "HS256", "typ": "JWT"}
    assert json.loads(decode(payload))["username"] == "username_3"
    expected = hmac.new(b"secret", f"{header}.{payload}".encode(), hashlib.sha256).digest()
    assert decode(signature) == expected
    assert user_id_key("username_3") == "username_3:user_id" and login_key("a b") is None
    assert user_id_key("x" * 300) is None


# --------------------------------------------------------------------------- compose-post's calls


class RecordingClient(ServiceClient):
    """Answers each method as its service would, recording when each call starts and ends."""

    def __init__(self) -> None:
        super().__init__(source_ip="")
        self.events: list[tuple[str, str]] = []
        self.bodies: dict[str, Any] = {}

    async def post_json(self, service: str, path: str, body: Any, *, timeout: float = 2.0, retries: int = 0) -> Any:
        method = path.rsplit("/", 1)[-1]
        self.events.append(("start", method))
        self.bodies[method] = body
        await asyncio.sleep(0.01)
        self.events.append(("end", method))
        return {
            "ComposeText": {
                "text": "hi @username_8 http://short-url/abcdefghij",
                "user_mentions": [{"user_id": 8, "username": "username_8"}],
                "urls": [{"shortened_url": "http://short-url/abcdefghij", "expanded_url": "http://e.com"}],
            },
            "ComposeCreatorWithUserId": {"user_id": body.get("user_id"), "username": body.get("username")},
            "ComposeMedia": {"media": [{"media_id": 5, "media_type": "png"}]},
            "ComposeUniqueId": {"post_id": 4242},
        }.get(method, {})


def test_compose_post_calls_the_services_in_the_originals_order() -> None:
    async def compose() -> RecordingClient:
        app = web.Application()
        client = RecordingClient()
        app[CLIENT] = client
        body = {
            "req_id": 1,
            "username": "username_7",
            "user_id": 7,
            "text": "hi @username_8 http://e.com",
            "media_ids": [5],
            "media_types": ["png"],
            "post_type": 0,
        }
        assert await compose_post.compose_post(app, body) == {}
        return client

    client = run(compose())
    starts = [method for event, method in client.events if event == "start"]
    first = ["ComposeText", "ComposeCreatorWithUserId", "ComposeMedia", "ComposeUniqueId"]
    assert starts == [*first, "StorePost", "WriteUserTimeline", "WriteHomeTimeline"]
    # the four at once, then each write after the one before ended
    events = client.events
    assert events[:4] == [("start", m) for m in first]
    for before, after in (("ComposeUniqueId", "StorePost"), ("StorePost", "WriteUserTimeline")):
        assert events.index(("end", before)) < events.index(("start", after))
    assert events.index(("end", "WriteUserTimeline")) < events.index(("start", "WriteHomeTimeline"))
    stored = Post.from_json(client.bodies["StorePost"]["post"])
    assert stored.post_id == 4242 and stored.creator == Creator(7, "username_7")
    assert stored.text.endswith("http://short-url/abcdefghij") and stored.media == (Media(5, "png"),)
    home = client.bodies["WriteHomeTimeline"]
    assert home["user_mentions_id"] == [8] and home["post_id"] == 4242 and home["timestamp"] == stored.timestamp
    assert client.bodies["WriteUserTimeline"] == {k: home[k] for k in ("req_id", "post_id", "user_id", "timestamp")}


# --------------------------------------------------------------------------- the front end


def with_front_end(
    monkeypatch: pytest.MonkeyPatch, check: Callable[[TestClient[web.Request, web.Application]], Awaitable[None]]
) -> None:
    for name in (*SERVICES, "nginx-thrift"):
        prefix = name.upper().replace("-", "_")
        monkeypatch.delenv(f"{prefix}_SERVICE_HOST", raising=False)
        monkeypatch.delenv(f"{prefix}_SERVICE_PORT", raising=False)
    monkeypatch.setenv("REMEDLAB_POD_IP", "")

    async def session() -> None:
        async with TestClient(TestServer(nginx_thrift.create_app())) as client:
            await check(client)

    run(session())


def test_the_front_end_answers_400_for_incomplete_arguments(monkeypatch: pytest.MonkeyPatch) -> None:
    async def check(client: TestClient[web.Request, web.Application]) -> None:
        posts = {
            "/wrk2-api/user/register": {"first_name": "a", "last_name": "b", "username": "c", "password": "d"},
            "/wrk2-api/user/follow": {"user_id": "1"},
            "/wrk2-api/post/compose": {"username": "username_1", "user_id": "1", "post_type": "0"},
        }
        for path, form in posts.items():
            resp = await client.post(path, data=form)
            assert (resp.status, await resp.text()) == (400, "Incomplete arguments\n"), path
        for path in ("/wrk2-api/home-timeline/read?user_id=1&start=0", "/wrk2-api/user-timeline/read?stop=1"):
            resp = await client.get(path)
            assert (resp.status, await resp.text()) == (400, "Incomplete arguments\n"), path
        resp = await client.get("/wrk2-api/home-timeline/read?user_id=x&start=0&stop=10")
        assert resp.status == 400 and "user_id must be a whole number" in await resp.text()
        form = {"username": "u", "user_id": "1", "post_type": "9", "text": "t"}
        resp = await client.post("/wrk2-api/post/compose", data=form)
        assert resp.status == 400 and "post_type" in await resp.text()

    with_front_end(monkeypatch, check)


def test_the_front_end_names_what_failed_as_the_original_does(monkeypatch: pytest.MonkeyPatch) -> None:
    async def check(client: TestClient[web.Request, web.Application]) -> None:
        register = {"first_name": "a", "last_name": "b", "username": "c", "password": "d", "user_id": "5"}
        compose = {"username": "username_1", "user_id": "1", "post_type": "0", "text": "hello"}
        calls = [
            (client.post("/wrk2-api/user/register", data=register), "User registration failure: ", "user-service"),
            (client.post("/wrk2-api/user/follow", data={"user_name": "a", "followee_name": "b"}), "Follow Failed", ""),
            (client.post("/wrk2-api/post/compose", data=compose), "compost_post failure: ", "compose-post-service"),
            (client.get("/wrk2-api/home-timeline/read?user_id=1&start=0&stop=10"), "Get home-timeline failure: ", ""),
            (client.get("/wrk2-api/user-timeline/read?user_id=1&start=0&stop=10"), "Get user-timeline failure: ", ""),
        ]
        for request, prefix, service in calls:
            resp = await request
            answer = await resp.text()
            assert resp.status == 500 and answer.startswith(prefix), answer
            assert "SERVICE_HOST" in answer and service in answer

    with_front_end(monkeypatch, check)


# --------------------------------------------------------------------------- manifests


def documents() -> list[dict[str, Any]]:
    return app_manifests(APP)


def _by_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in documents() if doc["kind"] == kind}


def _env(container: dict[str, Any]) -> dict[str, Any]:
    return {item["name"]: item.get("value", item.get("valueFrom")) for item in container.get("env", [])}


def test_manifests_validate_with_the_originals_names_and_ports() -> None:
    docs = documents()
    assert docs[0]["kind"] == "Namespace" and docs[0]["metadata"]["name"] == NS
    for doc in docs:
        validate_object(doc)
    kinds = [doc["kind"] for doc in docs]
    assert max(i for i, kind in enumerate(kinds) if kind == "Service") < kinds.index("Deployment")
    assert all(i < kinds.index("Deployment") for i, kind in enumerate(kinds) if kind in ("ConfigMap", "Secret"))
    services, deployments = _by_kind("Service"), _by_kind("Deployment")
    ports = {name: 9090 for name in SERVICES} | {"nginx-thrift": 8080}
    ports |= {name: 5432 for name in MONGODBS} | {name: 11211 for name in MEMCACHED} | {name: 6379 for name in REDIS}
    assert set(services) == set(deployments) == set(ports)
    for name, port in ports.items():
        (svc_port,) = services[name]["spec"]["ports"]
        assert svc_port["port"] == svc_port["targetPort"] == port, name
        assert services[name]["spec"]["selector"] == {"service": name}
        assert deployments[name]["spec"]["selector"]["matchLabels"] == {"service": name}
        assert deployments[name]["spec"]["template"]["metadata"]["labels"] == {"service": name, "app": name}


def test_services_run_their_program_with_their_stores() -> None:
    deployments, secrets = _by_kind("Deployment"), _by_kind("Secret")
    images = yaml.safe_load((APPS / "images.yaml").read_text())["images"]
    for name, program in SERVICES.items():
        pod = deployments[name]["spec"]["template"]
        (container,) = pod["spec"]["containers"]
        assert container["name"] == name and container["image"] == "remedlab/social-network-microservices:1.0"
        assert container["command"] == [program]
        assert program in images["remedlab/social-network-microservices"]["binaries"]
        assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": 9090}
        assert pod["metadata"]["annotations"]["prometheus.io/port"] == "9090"
        env = _env(container)
        assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://$(HOST_IP):4318"
        addresses = {k: v for k, v in env.items() if k.endswith("_ADDR")}
        assert addresses == store_addresses(name), name
        if "DATABASE_ADDR" in env:
            store = env["DATABASE_ADDR"].split(":")[0]
            database, _ = MONGODBS[store]
            assert env["DATABASE_NAME"] == database
            secret = env["DATABASE_USER"]["secretKeyRef"]["name"]
            assert secrets[secret]["stringData"]["username"] == database
            (db_container,) = deployments[store]["spec"]["template"]["spec"]["containers"]
            assert _env(db_container)["POSTGRES_USER"]["secretKeyRef"]["name"] == secret
    (front,) = deployments["nginx-thrift"]["spec"]["template"]["spec"]["containers"]
    assert front["image"] == "remedlab/social-network-nginx-thrift:1.0" and "command" not in front
    assert _env(deployments["user-service"]["spec"]["template"]["spec"]["containers"][0])["JWT_SECRET"]


def test_each_mongodb_is_a_seeded_postgres_and_the_graph_loads_into_two() -> None:
    deployments, config_maps = _by_kind("Deployment"), _by_kind("ConfigMap")
    for store, (database, tables) in MONGODBS.items():
        pod = deployments[store]["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        assert container["image"] == "remedlab/postgres:15" and _env(container)["POSTGRES_DB"] == database
        assert deployments[store]["spec"]["strategy"] == {"type": "Recreate"}
        volumes = {v["name"]: v for v in pod["volumes"]}
        mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
        assert mounts["seed"] == "/docker-entrypoint-initdb.d" and mounts["scripts"] == "/scripts"
        assert volumes["scripts"]["configMap"]["name"] == "mitigate-db"
        schema = "".join(config_maps[f"{store}-seed"]["data"].values())
        assert all(f"CREATE TABLE {table} (" in schema for table in tables), store
        if store in ("user-mongodb", "social-graph-mongodb"):
            (init,) = pod["initContainers"]
            assert init["command"] == ["init-social-graph"] and "socfb-Reed98" in init["args"]
            assert volumes["seed"] == {"name": "seed", "emptyDir": {}}
            assert volumes["schema"]["configMap"]["name"] == f"{store}-seed"
        else:
            assert "initContainers" not in pod and volumes["seed"]["configMap"]["name"] == f"{store}-seed"
    scripts = config_maps["mitigate-db"]["data"]
    assert set(scripts) == {"restore-grants.sh", "recreate-user.sh"}
    for name in MEMCACHED:
        (container,) = deployments[name]["spec"]["template"]["spec"]["containers"]
        assert container["image"] == "remedlab/memcached:1.6"
    for name in REDIS:
        (container,) = deployments[name]["spec"]["template"]["spec"]["containers"]
        assert container["image"] == "remedlab/redis:7"


def test_catalog_targets_name_deployments_aiopslabs_among_them() -> None:
    deployments = _by_kind("Deployment")
    assert APP.namespace == NS and APP.entry["service"] == "nginx-thrift" and APP.entry["port"] == 8080
    for fault, targets in APP.targets.items():
        assert targets and set(targets) <= set(deployments), fault
    for fault in ("cpu-stress", "memory-stress", "network-delay", "network-loss", "pod-fail", "pod-config-error"):
        assert set(APP.targets_for(fault)) == {"nginx-thrift", *SERVICES}
    assert set(APP.targets_for("disk-io")) <= set(MONGODBS)
    assert {"user-service", "text-service", "post-storage-service"} <= set(APP.targets_for("k8s-target-port-misconfig"))
    assert "user-service" in APP.targets_for("scale-pod-zero") and "user-service" in APP.targets_for(
        "assign-non-existent-node"
    )
    for fault in ("revoke-auth", "user-unregistered"):
        assert {"url-shorten-mongodb", "user-mongodb"} <= set(APP.targets_for(fault)) <= set(MONGODBS)
    # wrong-bin-usage: a service of the one image runs another of its programs (media-service's)
    assert set(APP.targets_for("wrong-bin-usage")) == set(SERVICES) - {"media-service"}
    assert APP.fault_overrides("wrong-bin-usage") == ["parameters.program=MediaService"]
    assert (
        APP.fault_overrides("cpu-stress") == []
        and get_app("hotel-reservation").fault_overrides("wrong-bin-usage") == []
    )


def test_rpc_paths_are_the_originals_service_and_method_names() -> None:
    assert rpc_path("ComposePostService", "ComposePost") == "/social_network.ComposePostService/ComposePost"


# --------------------------------------------------------------------------- workload


def test_the_workload_is_the_originals_mix_with_users_of_the_graph() -> None:
    mix = load_app_mix(APP)
    assert (mix.service, mix.port) == ("nginx-thrift", 8080)
    assert mix.shares() == pytest.approx({"read-home-timeline": 0.6, "read-user-timeline": 0.3, "compose-post": 0.1})
    rng = random.Random(5)
    drawn: dict[str, int] = {}
    for _ in range(3000):
        request = mix.next_request(rng)
        drawn[request.name] = drawn.get(request.name, 0) + 1
        path, _, query_string = request.path.partition("?")
        if request.name.startswith("read-"):
            query = dict(urllib.parse.parse_qsl(query_string))
            assert path == f"/wrk2-api/{request.name.removeprefix('read-')}/read" and request.method == "GET"
            assert 0 <= int(query["user_id"]) <= 961
            assert 0 <= int(query["start"]) <= 100 and int(query["stop"]) == int(query["start"]) + 10
        else:
            assert (request.method, path) == ("POST", "/wrk2-api/post/compose")
            assert request.headers == {"Content-Type": "application/x-www-form-urlencoded"}
            form = dict(urllib.parse.parse_qsl(request.body))
            assert form["username"] == f"username_{form['user_id']}" and 0 <= int(form["user_id"]) <= 961
            assert len(text.mentioned_usernames(form["text"])) == 2 and len(text.links(form["text"])) == 2
            assert all(0 <= int(m.removeprefix("username_")) <= 961 for m in text.mentioned_usernames(form["text"]))
            (media_id,) = json.loads(form["media_ids"])
            assert len(media_id) == 18 and json.loads(form["media_types"]) == ["png"] and form["post_type"] == "0"
    assert drawn["read-home-timeline"] / 3000 == pytest.approx(0.6, abs=0.03)
    assert drawn["compose-post"] / 3000 == pytest.approx(0.1, abs=0.02)


def test_random_text_placeholder() -> None:
    template = PathTemplate("/x?text={rand_str:12}")
    rendered = template.render(random.Random(1))
    assert len(rendered.removeprefix("/x?text=")) == 12 and rendered.removeprefix("/x?text=").isalnum()
    for bad in ("/x/{rand_str:0}", "/x/{rand_str:a}", "/x/{rand_str:5000}"):
        with pytest.raises(TemplateError):
            PathTemplate(bad)
