"""Apps' manifests for a real cluster: remedlab's images from the user's registry through the
image's entry point, store images as the official ones, and the agent's ServiceAccount, Role and
RoleBinding; all valid Kubernetes 1.30 objects (kubernetes-validate's bundled schemas, offline)."""

from __future__ import annotations

from typing import Any

import kubernetes_validate
import pytest

from remedlab.api.image_map import ImageRegistry, container_argv
from remedlab.apps.catalog import UnknownApp, app_manifests, get_app, list_apps
from remedlab.apps.real_cluster.agent_access import AgentRole, agent_access
from remedlab.apps.real_cluster.image_entrypoint import IMAGE_ENV, PROGRAM, parse_invocation, plan
from remedlab.apps.real_cluster.image_references import RegistryError, in_registry, parse_registry, unqualified
from remedlab.apps.real_cluster.manifests import render_app
from remedlab.apps.real_cluster.pod_containers import containers
from remedlab.apps.real_cluster.store_images import StoreImages, UnknownStoreTag

KUBERNETES = "1.30"
REGISTRY = "registry.example.com/team"
APPS = [app.name for app in list_apps()]


def _validate(doc: dict[str, Any]) -> None:
    try:
        kubernetes_validate.validate(doc, KUBERNETES, strict=True)
    except kubernetes_validate.ValidationError as exc:
        name = f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
        pytest.fail(f"{name} is not a valid Kubernetes {KUBERNETES} object: {exc.message} at {list(exc.path)}")


@pytest.mark.parametrize("app", APPS)
def test_rendered_manifests_are_valid_kubernetes_objects(app: str) -> None:
    docs = render_app(app, REGISTRY)
    assert docs
    for doc in docs:
        _validate(doc)


def test_agent_access_objects_are_valid_kubernetes_objects() -> None:
    docs = agent_access("hotel-reservation")
    assert [d["kind"] for d in docs] == ["ServiceAccount", "Role", "RoleBinding"]
    for doc in docs:
        _validate(doc)


def test_the_schemas_catch_a_bad_object() -> None:
    (deployment, *_) = [d for d in render_app("simple-micro", REGISTRY) if d["kind"] == "Deployment"]
    deployment["spec"]["template"]["spec"]["containers"][0]["comand"] = ["typo"]
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES, strict=True)


def _rendered_containers(app: str, registry: str | None = REGISTRY) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(original, rendered) container pairs of the app's manifests."""
    before = [c for doc in app_manifests(get_app(app)) for c in containers(doc)]
    after = [c for doc in render_app(app, registry) for c in containers(doc)]
    assert len(before) == len(after)
    return list(zip(before, after, strict=True))


@pytest.mark.parametrize("app", APPS)
def test_remedlab_images_come_from_the_registry_and_run_what_they_run_on_the_embedded_cluster(app: str) -> None:
    images = ImageRegistry.load(None)
    stores = StoreImages.load()
    for before, after in _rendered_containers(app):
        image = str(before["image"])
        if stores.get(image) is not None:
            continue
        assert after["image"] == f"{REGISTRY}/{in_registry(image, None)}"
        assert after["command"][0] == PROGRAM
        env = {e["name"]: e.get("value") for e in after["env"]}
        assert env[IMAGE_ENV] == in_registry(image, None)
        # the entry point runs exactly what the embedded cluster runs for the original container
        spec = images.resolve(image)
        assert spec is not None
        invocation = parse_invocation([*after["command"][1:], *(after.get("args") or [])], {IMAGE_ENV: env[IMAGE_ENV]})
        expected = container_argv(spec, before.get("command"), before.get("args"))
        assert plan(invocation, images) == expected
        assert after.get("args") == before.get("args")


def test_without_a_registry_images_keep_their_names() -> None:
    for before, after in _rendered_containers("simple-micro", None):
        assert after["image"] == before["image"]
        assert after["command"] == [PROGRAM, "--"]


def test_postgres_is_the_official_image_with_the_embedded_stores_settings() -> None:
    rendered = [
        (b, a) for b, a in _rendered_containers("hotel-reservation") if b["image"].startswith("remedlab/postgres")
    ]
    pairs = [(b, a) for b, a in rendered if "command" not in b]  # the servers; the install's data load runs psql
    assert len(pairs) == 6
    for before, after in [(b, a) for b, a in rendered if "command" in b]:
        assert after["image"] == "postgres:15"
        assert after["command"] == ["docker-entrypoint.sh", *before["command"]]
        names = [e["name"] for e in after["env"]]
        assert names[: len(before["env"])] == [e["name"] for e in before["env"]]  # DATABASE_* as they were
    for before, after in pairs:
        assert after["image"] == "postgres:15"
        assert "command" not in after
        assert after["args"] == before["args"]  # -c name=value: the official entry point passes them to postgres
        env = {e["name"]: e for e in after["env"]}
        assert env["POSTGRES_USER"]["valueFrom"]["secretKeyRef"]["key"] == "username"
        assert env["POSTGRES_PASSWORD"]["valueFrom"]["secretKeyRef"]["key"] == "password"
        assert env["PGDATA"]["value"] == "/var/lib/postgresql/data/pgdata"
        names = [e["name"] for e in after["env"]]
        assert names.index("PGUSER") > names.index("POSTGRES_USER")
        assert env["PGUSER"]["value"] == "$(POSTGRES_USER)"
        assert env["PGDATABASE"]["value"] == "postgres"
        mounts = {m["mountPath"] for m in after["volumeMounts"]}
        assert {"/var/lib/postgresql/data", "/docker-entrypoint-initdb.d"} <= mounts


def test_redis_and_memcached_settings_become_arguments() -> None:
    (redis,) = [a for b, a in _rendered_containers("online-boutique") if b["image"].startswith("remedlab/redis")]
    assert redis["image"] == "redis:7"
    assert redis["args"] == ["--port", "6379"]  # REDIS_PERSIST=1: redis' default save points, in /data
    memcached = [a for b, a in _rendered_containers("hotel-reservation") if b["image"].startswith("remedlab/memcached")]
    assert {m["image"] for m in memcached} == {"memcached:1.6"}
    assert all(m["args"] == ["-p", "11211", "-m", "64", "-U", "0"] for m in memcached)


def test_store_mapping_rules() -> None:
    stores = StoreImages.load()
    redis = stores.get("remedlab/redis:7")
    assert redis is not None
    container: dict[str, Any] = {"name": "r", "image": "remedlab/redis:latest", "args": ["--maxmemory", "10mb"]}
    redis.apply(container)
    assert container["image"] == "redis:7"
    assert container["args"] == ["--port", "6379", "--save", "", "--appendonly", "no", "--maxmemory", "10mb"]
    postgres = stores.get("remedlab/postgres")
    assert postgres is not None
    container = {
        "name": "p",
        "image": "remedlab/postgres:15",
        "command": ["postgres"],
        "env": [{"name": "PGDATA", "valueFrom": {"configMapKeyRef": {"name": "c", "key": "k"}}}],
    }
    postgres.apply(container)
    assert container["command"] == ["docker-entrypoint.sh", "postgres"]
    env = {e["name"]: e for e in container["env"]}
    assert "valueFrom" in env["PGDATA"]  # left alone: it would refer to itself
    assert env["PGUSER"]["value"] == "postgres"  # the official image's superuser when POSTGRES_USER is unset
    with pytest.raises(UnknownStoreTag, match="remedlab/postgres:16"):
        postgres.official("remedlab/postgres:16")


def test_registries() -> None:
    assert parse_registry("ghcr.io/you/") == "ghcr.io/you"
    assert parse_registry("localhost:5000") == "localhost:5000"
    assert parse_registry("registry.example.com:8443/team/sub-team") == "registry.example.com:8443/team/sub-team"
    assert parse_registry("you") == "you"
    for bad in ("https://ghcr.io/you", "ghcr.io/You", "ghcr.io/you:1.0", "ghcr.io//you", "", "a b"):
        with pytest.raises(RegistryError) as caught:
            parse_registry(bad)
        assert "\n" not in str(caught.value)
    with pytest.raises(RegistryError, match="without a scheme"):
        render_app("simple-micro", "https://ghcr.io/you")
    assert unqualified("ghcr.io/remedlab/remedlab/geo:1.0") == "remedlab/geo:1.0"
    assert unqualified("busybox:1.36") == "busybox:1.36"


def test_an_unknown_app_is_one_line() -> None:
    with pytest.raises(UnknownApp) as caught:
        render_app("no-such-app", REGISTRY)
    assert str(caught.value).startswith('unknown app "no-such-app": choose one of ')


def test_a_namespace_moves_every_object() -> None:
    docs = render_app("simple-micro", REGISTRY, namespace="elsewhere")
    assert {d["metadata"].get("namespace", d["metadata"]["name"]) for d in docs} == {"elsewhere"}


def test_the_agent_role_grants_what_the_agent_scope_does_and_nothing_of_chaos_mesh() -> None:
    rules = AgentRole.load().rules
    groups = {group for rule in rules for group in rule.api_groups}
    assert "chaos-mesh.org" not in groups
    assert "*" not in groups
    assert all("*" not in rule.resources and "*" not in rule.verbs for rule in rules)

    def allows(group: str, resource: str, verb: str) -> bool:
        return any(group in r.api_groups and resource in r.resources and verb in r.verbs for r in rules)

    for resource in ("pods", "pods/log", "events", "services", "endpoints", "configmaps"):
        assert allows("", resource, "list"), resource
    for resource in ("deployments", "replicasets", "statefulsets", "daemonsets"):
        assert allows("apps", resource, "watch"), resource
    assert allows("batch", "jobs", "get")
    assert allows("", "pods/exec", "create") and allows("", "pods/portforward", "create")
    assert allows("", "pods", "delete")
    assert allows("apps", "deployments", "patch") and allows("apps", "statefulsets", "update")
    assert allows("apps", "deployments/scale", "patch") and allows("apps", "statefulsets/scale", "patch")
    assert not allows("", "secrets", "get")
    assert not allows("", "pods", "create")
    assert not allows("apps", "deployments", "delete")
    binding = agent_access("ns", name="agent-x")[2]
    assert binding["roleRef"]["name"] == "agent-x"
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "agent-x", "namespace": "ns"}]
