"""Unit tests of remedlab.cluster.apiserver.patching."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from remedlab.cluster.apiserver.patching import (
    MERGE_KEYS,
    ApplyConflict,
    Obj,
    PatchError,
    apply_json_patch,
    apply_merge_patch,
    apply_strategic_merge_patch,
    server_side_apply,
    three_way_apply,
)

# --------------------------------------------------------------------------- fixtures


def deployment() -> Obj:
    """A live Deployment with two containers, as the server would return it."""
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "cart",
            "namespace": "shop",
            "uid": "0b7f-uid",
            "resourceVersion": "42",
            "generation": 3,
            "creationTimestamp": "2024-01-01T00:00:00Z",
            "labels": {"app": "cart", "tier": "backend"},
            "annotations": {"team": "checkout"},
        },
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "cart"}},
            "template": {
                "metadata": {"labels": {"app": "cart"}},
                "spec": {
                    "containers": [
                        {
                            "name": "cart",
                            "image": "shop/cart:1.0",
                            "args": ["--port", "8080"],
                            "env": [
                                {"name": "REDIS_ADDR", "value": "redis:6379"},
                                {"name": "LOG_LEVEL", "value": "info"},
                            ],
                            "ports": [
                                {"containerPort": 8080, "name": "http", "protocol": "TCP"},
                                {"containerPort": 9090, "name": "metrics", "protocol": "TCP"},
                            ],
                            "resources": {
                                "limits": {"cpu": "500m", "memory": "256Mi"},
                                "requests": {"cpu": "100m", "memory": "128Mi"},
                            },
                            "volumeMounts": [{"name": "cfg", "mountPath": "/etc/cart"}],
                        },
                        {"name": "sidecar", "image": "shop/proxy:2.1", "args": ["--upstream", "8080"]},
                    ],
                    "volumes": [{"name": "cfg", "configMap": {"name": "cart-cfg"}}],
                    "tolerations": [{"key": "a", "operator": "Exists"}],
                },
            },
        },
        "status": {"replicas": 2, "readyReplicas": 2, "observedGeneration": 3},
    }


def containers(obj: Obj) -> list[Obj]:
    result: list[Obj] = obj["spec"]["template"]["spec"]["containers"]
    return result


def container(obj: Obj, name: str) -> Obj:
    for c in containers(obj):
        if c["name"] == name:
            return c
    raise AssertionError(f"no container {name}")


def env_of(obj: Obj, name: str = "cart") -> dict[str, Any]:
    return {e["name"]: e.get("value") for e in container(obj, name).get("env", [])}


def smp(target: Obj, patch: Obj) -> Obj:
    """Strategic merge, asserting that neither input is mutated."""
    before = (copy.deepcopy(target), copy.deepcopy(patch))
    result = apply_strategic_merge_patch(target, patch)
    assert (target, patch) == before
    return result


def jp(target: Any, ops: list[dict[str, Any]]) -> Any:
    """JSON patch, asserting that neither input is mutated."""
    before = (copy.deepcopy(target), copy.deepcopy(ops))
    try:
        return apply_json_patch(target, ops)
    finally:
        assert (target, ops) == before


# --------------------------------------------------------------------------- RFC 7386

RFC7386_CASES: list[tuple[Any, Any, Any]] = [
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    (["a", "b"], ["c", "d"], ["c", "d"]),
    ({"a": "b"}, ["c"], ["c"]),
    ({"a": "foo"}, None, None),
    ({"a": "foo"}, "bar", "bar"),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
]


@pytest.mark.parametrize(("target", "patch", "expected"), RFC7386_CASES)
def test_merge_patch_rfc_examples(target: Any, patch: Any, expected: Any) -> None:
    before = (copy.deepcopy(target), copy.deepcopy(patch))
    assert apply_merge_patch(target, patch) == expected
    assert (target, patch) == before


def test_merge_patch_rfc_document_example() -> None:
    target = {
        "title": "Goodbye!",
        "author": {"givenName": "John", "familyName": "Doe"},
        "tags": ["example", "sample"],
        "content": "This will be unchanged",
    }
    patch = {
        "title": "Hello!",
        "phoneNumber": "+01-123-456-7890",
        "author": {"familyName": None},
        "tags": ["example"],
    }
    assert apply_merge_patch(target, patch) == {
        "title": "Hello!",
        "author": {"givenName": "John"},
        "tags": ["example"],
        "content": "This will be unchanged",
        "phoneNumber": "+01-123-456-7890",
    }


def test_merge_patch_replaces_lists_of_objects_and_shares_no_state() -> None:
    live = deployment()
    patch: Obj = {"spec": {"template": {"spec": {"containers": [{"name": "only", "image": "x"}]}}}}
    result = apply_merge_patch(live, patch)
    assert containers(result) == [{"name": "only", "image": "x"}]
    assert result["spec"]["replicas"] == 2
    containers(result)[0]["image"] = "changed"
    result["metadata"]["labels"]["new"] = "1"
    assert patch["spec"]["template"]["spec"]["containers"][0]["image"] == "x"
    assert "new" not in live["metadata"]["labels"]


# --------------------------------------------------------------------------- RFC 6902


def test_json_patch_add_object_member() -> None:
    assert jp({"foo": "bar"}, [{"op": "add", "path": "/baz", "value": "qux"}]) == {"foo": "bar", "baz": "qux"}


def test_json_patch_add_array_element_and_append() -> None:
    doc = {"foo": ["bar", "baz"]}
    assert jp(doc, [{"op": "add", "path": "/foo/1", "value": "qux"}]) == {"foo": ["bar", "qux", "baz"]}
    assert jp(doc, [{"op": "add", "path": "/foo/-", "value": "end"}]) == {"foo": ["bar", "baz", "end"]}
    assert jp(doc, [{"op": "add", "path": "/foo/2", "value": "end"}]) == {"foo": ["bar", "baz", "end"]}


def test_json_patch_remove() -> None:
    assert jp({"baz": "qux", "foo": "bar"}, [{"op": "remove", "path": "/baz"}]) == {"foo": "bar"}
    doc = {"foo": ["bar", "qux", "baz"]}
    assert jp(doc, [{"op": "remove", "path": "/foo/1"}]) == {"foo": ["bar", "baz"]}


def test_json_patch_replace() -> None:
    doc = {"baz": "qux", "foo": "bar"}
    assert jp(doc, [{"op": "replace", "path": "/baz", "value": "boo"}]) == {"baz": "boo", "foo": "bar"}


def test_json_patch_move_value_and_array_element() -> None:
    doc = {"foo": {"bar": "baz", "waldo": "fred"}, "qux": {"corge": "grault"}}
    ops = [{"op": "move", "from": "/foo/waldo", "path": "/qux/thud"}]
    assert jp(doc, ops) == {"foo": {"bar": "baz"}, "qux": {"corge": "grault", "thud": "fred"}}
    doc2 = {"foo": ["all", "grass", "cows", "eat"]}
    ops2 = [{"op": "move", "from": "/foo/1", "path": "/foo/3"}]
    assert jp(doc2, ops2) == {"foo": ["all", "cows", "eat", "grass"]}


def test_json_patch_move_to_itself_is_a_no_op() -> None:
    assert jp({"a": 1}, [{"op": "move", "from": "/a", "path": "/a"}]) == {"a": 1}


def test_json_patch_move_into_own_child_fails() -> None:
    with pytest.raises(PatchError, match=r"^jsonpatch op 0 \(move /a/b\): cannot move"):
        jp({"a": {"x": 1}}, [{"op": "move", "from": "/a", "path": "/a/b"}])


def test_json_patch_copy_is_deep() -> None:
    doc = {"a": {"b": [1]}}
    result = jp(doc, [{"op": "copy", "from": "/a", "path": "/c"}, {"op": "add", "path": "/c/b/-", "value": 2}])
    assert result == {"a": {"b": [1]}, "c": {"b": [1, 2]}}


def test_json_patch_test_success() -> None:
    doc = {"baz": "qux", "foo": ["a", 2, "c"]}
    ops: list[Obj] = [
        {"op": "test", "path": "/baz", "value": "qux"},
        {"op": "test", "path": "/foo/1", "value": 2},
    ]
    assert jp(doc, ops) == doc


def test_json_patch_test_failure_names_op_and_path() -> None:
    ops = [
        {"op": "replace", "path": "/baz", "value": "x"},
        {"op": "test", "path": "/baz", "value": "bar"},
    ]
    with pytest.raises(PatchError) as info:
        jp({"baz": "qux"}, ops)
    message = str(info.value)
    assert message.startswith("jsonpatch op 1 (test /baz): test failed")
    assert '"bar"' in message and '"x"' in message
    assert "\n" not in message


def test_json_patch_test_compares_json_types() -> None:
    with pytest.raises(PatchError, match="test failed"):
        jp({"/": 9, "~1": 10}, [{"op": "test", "path": "/~01", "value": "10"}])
    with pytest.raises(PatchError, match="test failed"):
        jp({"flag": True}, [{"op": "test", "path": "/flag", "value": 1}])
    assert jp({"n": 1}, [{"op": "test", "path": "/n", "value": 1.0}]) == {"n": 1}
    doc = {"m": {"a": [1, {"b": None}]}}
    assert jp(doc, [{"op": "test", "path": "/m", "value": {"a": [1, {"b": None}]}}]) == doc


def test_json_patch_add_nested_member_and_ignores_unknown_members() -> None:
    assert jp({"foo": "bar"}, [{"op": "add", "path": "/child", "value": {"grandchild": {}}}]) == {
        "foo": "bar",
        "child": {"grandchild": {}},
    }
    assert jp({"foo": "bar"}, [{"op": "add", "path": "/baz", "value": "qux", "xyz": 123}]) == {
        "foo": "bar",
        "baz": "qux",
    }


def test_json_patch_pointer_escapes() -> None:
    doc = {"/": 9, "~1": 10}
    assert jp(doc, [{"op": "test", "path": "/~01", "value": 10}]) == doc
    assert jp(doc, [{"op": "replace", "path": "/~1", "value": 1}]) == {"/": 1, "~1": 10}
    labels: Obj = {"metadata": {"labels": {}}}
    ops = [{"op": "add", "path": "/metadata/labels/app.kubernetes.io~1name", "value": "cart"}]
    assert jp(labels, ops) == {"metadata": {"labels": {"app.kubernetes.io/name": "cart"}}}


def test_json_patch_adding_an_array_value() -> None:
    ops = [{"op": "add", "path": "/foo/-", "value": ["abc", "def"]}]
    assert jp({"foo": ["bar"]}, ops) == {"foo": ["bar", ["abc", "def"]]}


def test_json_patch_root_operations() -> None:
    assert jp({"a": 1}, [{"op": "replace", "path": "", "value": [1]}]) == [1]
    assert jp({"a": 1}, [{"op": "add", "path": "", "value": {"b": 2}}]) == {"b": 2}
    with pytest.raises(PatchError, match="document root"):
        jp({"a": 1}, [{"op": "remove", "path": ""}])


def test_json_patch_on_a_deployment() -> None:
    live = deployment()
    ops: list[Obj] = [
        {"op": "replace", "path": "/spec/replicas", "value": 5},
        {"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": "shop/cart:1.1"},
        {"op": "remove", "path": "/spec/template/spec/containers/0/env/1"},
        {"op": "add", "path": "/spec/template/spec/containers/0/env/-", "value": {"name": "X", "value": "1"}},
    ]
    result = jp(live, ops)
    assert result["spec"]["replicas"] == 5
    assert container(result, "cart")["image"] == "shop/cart:1.1"
    assert env_of(result) == {"REDIS_ADDR": "redis:6379", "X": "1"}
    assert container(result, "sidecar") == container(live, "sidecar")


@pytest.mark.parametrize(
    ("ops", "message"),
    [
        (
            [
                {"op": "test", "path": "/spec/replicas", "value": 2},
                {"op": "replace", "path": "/spec/replicas2", "value": 3},
            ],
            "jsonpatch op 1 (replace /spec/replicas2): path not found",
        ),
        (
            [{"op": "add", "path": "/baz/bat", "value": "qux"}],
            "jsonpatch op 0 (add /baz/bat): path not found",
        ),
        (
            [{"op": "remove", "path": "/spec/nothing"}],
            "jsonpatch op 0 (remove /spec/nothing): path not found",
        ),
        (
            [{"op": "remove", "path": "/spec/replicas/x"}],
            "jsonpatch op 0 (remove /spec/replicas/x): path not found",
        ),
        ([{"op": "test", "path": "/spec/x", "value": 1}], "jsonpatch op 0 (test /spec/x): path not found"),
        (
            [{"op": "replace", "path": "/spec/template/spec/containers/7/image", "value": "x"}],
            "jsonpatch op 0 (replace /spec/template/spec/containers/7/image): path not found",
        ),
        (
            [{"op": "replace", "path": "/spec/template/spec/containers/-", "value": {}}],
            "jsonpatch op 0 (replace /spec/template/spec/containers/-): path not found",
        ),
        (
            [{"op": "add", "path": "/spec/template/spec/containers/5", "value": {}}],
            "jsonpatch op 0 (add /spec/template/spec/containers/5): array index 5 out of range (length 2)",
        ),
        (
            [{"op": "add", "path": "/spec/template/spec/containers/01", "value": {}}],
            "jsonpatch op 0 (add /spec/template/spec/containers/01): invalid array index '01'",
        ),
        (
            [{"op": "remove", "path": "/spec/template/spec/containers/first"}],
            "jsonpatch op 0 (remove /spec/template/spec/containers/first): invalid array index 'first'",
        ),
        ([{"op": "add", "path": "spec", "value": 1}], "jsonpatch op 0 (add spec): invalid JSON pointer"),
        ([{"op": "add", "path": "/a~2b", "value": 1}], "jsonpatch op 0 (add /a~2b): invalid JSON pointer"),
        ([{"op": "add", "path": "/spec/x"}], "jsonpatch op 0 (add /spec/x): missing 'value' member"),
        ([{"op": "remove"}], "jsonpatch op 0 (remove ?): missing 'path' member"),
        ([{"path": "/spec"}], "jsonpatch op 0 (? /spec): missing 'op' member"),
        (
            [{"op": "frobnicate", "path": "/spec"}],
            "jsonpatch op 0 (frobnicate /spec): unknown op 'frobnicate'",
        ),
        ([{"op": "move", "path": "/spec/y"}], "jsonpatch op 0 (move /spec/y): missing 'from' member"),
        (
            [{"op": "copy", "from": "/spec/nope", "path": "/spec/y"}],
            "jsonpatch op 0 (copy /spec/y): from path /spec/nope not found",
        ),
    ],
)
def test_json_patch_errors(ops: list[dict[str, Any]], message: str) -> None:
    with pytest.raises(PatchError) as info:
        jp(deployment(), ops)
    assert str(info.value).startswith(message)
    assert "\n" not in str(info.value)


def test_json_patch_rejects_non_list_and_non_object_ops() -> None:
    with pytest.raises(PatchError, match="list of operations"):
        apply_json_patch({}, {"op": "add"})  # type: ignore[arg-type]
    with pytest.raises(PatchError, match=r"^jsonpatch op 0: an operation must be an object"):
        apply_json_patch({}, ["add"])  # type: ignore[list-item]


def test_json_patch_failure_leaves_target_untouched() -> None:
    live = deployment()
    snapshot = copy.deepcopy(live)
    ops: list[Obj] = [
        {"op": "replace", "path": "/spec/replicas", "value": 9},
        {"op": "remove", "path": "/metadata/labels/tier"},
        {"op": "test", "path": "/spec/replicas", "value": 2},
    ]
    with pytest.raises(PatchError, match=r"jsonpatch op 2 \(test /spec/replicas\)"):
        apply_json_patch(live, ops)
    assert live == snapshot


def test_json_patch_result_shares_no_state_with_ops() -> None:
    value = {"name": "X", "value": "1"}
    result = jp({"env": []}, [{"op": "add", "path": "/env/0", "value": value}])
    result["env"][0]["value"] = "2"
    assert value == {"name": "X", "value": "1"}


# --------------------------------------------------------------------------- strategic merge


def test_smp_changes_one_container_image_and_keeps_the_other() -> None:
    live = deployment()
    patch: Obj = {"spec": {"template": {"spec": {"containers": [{"name": "cart", "image": "shop/cart:1.1"}]}}}}
    result = smp(live, patch)
    assert [c["name"] for c in containers(result)] == ["cart", "sidecar"]
    assert container(result, "cart")["image"] == "shop/cart:1.1"
    expected_cart = copy.deepcopy(container(live, "cart"))
    expected_cart["image"] = "shop/cart:1.1"
    assert container(result, "cart") == expected_cart
    assert container(result, "sidecar") == container(live, "sidecar")
    assert result["status"] == live["status"]


def test_smp_adds_a_container_at_the_end() -> None:
    patch: Obj = {"spec": {"template": {"spec": {"containers": [{"name": "debug", "image": "busybox"}]}}}}
    result = smp(deployment(), patch)
    assert [c["name"] for c in containers(result)] == ["cart", "sidecar", "debug"]


def test_smp_env_add_replace_delete_by_name() -> None:
    patch: Obj = {
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "cart",
                            "env": [
                                {"name": "LOG_LEVEL", "value": "debug"},
                                {"name": "REDIS_ADDR", "$patch": "delete"},
                                {"name": "CACHE_TTL", "value": "30"},
                            ],
                        }
                    ]
                }
            }
        }
    }
    result = smp(deployment(), patch)
    env = container(result, "cart")["env"]
    assert env == [{"name": "LOG_LEVEL", "value": "debug"}, {"name": "CACHE_TTL", "value": "30"}]
    assert all("$patch" not in e for e in env)


def test_smp_env_value_to_value_from() -> None:
    patch: Obj = {
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "cart",
                            "env": [
                                {
                                    "name": "LOG_LEVEL",
                                    "value": None,
                                    "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "level"}},
                                }
                            ],
                        }
                    ]
                }
            }
        }
    }
    result = smp(deployment(), patch)
    assert container(result, "cart")["env"][1] == {
        "name": "LOG_LEVEL",
        "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "level"}},
    }


def test_smp_delete_a_container() -> None:
    patch: Obj = {"spec": {"template": {"spec": {"containers": [{"name": "sidecar", "$patch": "delete"}]}}}}
    result = smp(deployment(), patch)
    assert [c["name"] for c in containers(result)] == ["cart"]


def test_smp_delete_of_a_missing_element_is_a_no_op() -> None:
    patch: Obj = {"spec": {"template": {"spec": {"containers": [{"name": "ghost", "$patch": "delete"}]}}}}
    assert smp(deployment(), patch) == deployment()


def test_smp_resources_merge() -> None:
    patch: Obj = {
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "cart",
                            "resources": {"limits": {"memory": "512Mi"}, "requests": {"cpu": None}},
                        }
                    ]
                }
            }
        }
    }
    result = smp(deployment(), patch)
    assert container(result, "cart")["resources"] == {
        "limits": {"cpu": "500m", "memory": "512Mi"},
        "requests": {"memory": "128Mi"},
    }


def test_smp_label_set_to_null_is_removed() -> None:
    result = smp(deployment(), {"metadata": {"labels": {"tier": None, "version": "v2"}}})
    assert result["metadata"]["labels"] == {"app": "cart", "version": "v2"}


def test_smp_scalars_and_primitive_lists_replace() -> None:
    patch: Obj = {
        "spec": {
            "replicas": 0,
            "template": {"spec": {"containers": [{"name": "sidecar", "args": ["--upstream", "9999"]}]}},
        }
    }
    result = smp(deployment(), patch)
    assert result["spec"]["replicas"] == 0
    assert container(result, "sidecar")["args"] == ["--upstream", "9999"]
    assert container(result, "cart")["args"] == ["--port", "8080"]


def test_smp_unkeyed_lists_replace() -> None:
    patch: Obj = {"spec": {"template": {"spec": {"tolerations": [{"key": "b", "operator": "Exists"}]}}}}
    result = smp(deployment(), patch)
    assert result["spec"]["template"]["spec"]["tolerations"] == [{"key": "b", "operator": "Exists"}]


def test_smp_container_ports_merge_by_container_port() -> None:
    patch: Obj = {
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "cart",
                            "ports": [
                                {"containerPort": 9090, "name": "prom"},
                                {"containerPort": 7070, "name": "grpc"},
                            ],
                        }
                    ]
                }
            }
        }
    }
    ports = container(smp(deployment(), patch), "cart")["ports"]
    assert ports == [
        {"containerPort": 8080, "name": "http", "protocol": "TCP"},
        {"containerPort": 9090, "name": "prom", "protocol": "TCP"},
        {"containerPort": 7070, "name": "grpc"},
    ]


def test_smp_service_ports_merge_by_port() -> None:
    svc: Obj = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "cart"},
        "spec": {
            "selector": {"app": "cart"},
            "ports": [
                {"port": 80, "targetPort": 8080, "name": "http"},
                {"port": 9090, "targetPort": 9090, "name": "metrics"},
            ],
        },
    }
    patch: Obj = {"spec": {"ports": [{"port": 80, "targetPort": 8081}, {"port": 9090, "$patch": "delete"}]}}
    assert smp(svc, patch)["spec"]["ports"] == [{"port": 80, "targetPort": 8081, "name": "http"}]


def test_smp_volumes_volume_mounts_and_image_pull_secrets() -> None:
    live = deployment()
    live["spec"]["template"]["spec"]["imagePullSecrets"] = [{"name": "reg-a"}]
    patch: Obj = {
        "spec": {
            "template": {
                "spec": {
                    "volumes": [{"name": "cache", "emptyDir": {}}],
                    "imagePullSecrets": [{"name": "reg-b"}],
                    "containers": [
                        {
                            "name": "cart",
                            "volumeMounts": [
                                {"mountPath": "/etc/cart", "readOnly": True},
                                {"name": "cache", "mountPath": "/cache"},
                            ],
                        }
                    ],
                }
            }
        }
    }
    result = smp(live, patch)
    pod = result["spec"]["template"]["spec"]
    assert [v["name"] for v in pod["volumes"]] == ["cfg", "cache"]
    assert pod["imagePullSecrets"] == [{"name": "reg-a"}, {"name": "reg-b"}]
    assert container(result, "cart")["volumeMounts"] == [
        {"name": "cfg", "mountPath": "/etc/cart", "readOnly": True},
        {"name": "cache", "mountPath": "/cache"},
    ]


def test_smp_init_containers_merge_by_name() -> None:
    live = deployment()
    live["spec"]["template"]["spec"]["initContainers"] = [
        {"name": "migrate", "image": "shop/migrate:1"},
        {"name": "wait", "image": "busybox"},
    ]
    patch: Obj = {"spec": {"template": {"spec": {"initContainers": [{"name": "migrate", "image": "shop/migrate:2"}]}}}}
    inits = smp(live, patch)["spec"]["template"]["spec"]["initContainers"]
    assert inits == [{"name": "migrate", "image": "shop/migrate:2"}, {"name": "wait", "image": "busybox"}]


def test_smp_patch_replace_on_a_map() -> None:
    patch: Obj = {"metadata": {"labels": {"$patch": "replace", "only": "this"}}}
    result = smp(deployment(), patch)
    assert result["metadata"]["labels"] == {"only": "this"}
    assert result["metadata"]["annotations"] == {"team": "checkout"}


def test_smp_patch_replace_on_a_list() -> None:
    patch: Obj = {
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "cart",
                            "env": [{"$patch": "replace"}, {"name": "ONLY", "value": "1"}],
                        }
                    ]
                }
            }
        }
    }
    assert container(smp(deployment(), patch), "cart")["env"] == [{"name": "ONLY", "value": "1"}]
    clear: Obj = {"spec": {"template": {"spec": {"volumes": [{"$patch": "replace"}]}}}}
    assert smp(deployment(), clear)["spec"]["template"]["spec"]["volumes"] == []


def test_smp_patch_delete_on_a_map_value() -> None:
    result = smp(deployment(), {"metadata": {"annotations": {"$patch": "delete"}}})
    assert "annotations" not in result["metadata"]
    assert smp({"a": 1}, {"$patch": "delete"}) == {}


def test_smp_retain_keys() -> None:
    live: Obj = {"spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}}
    patch: Obj = {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}
    assert smp(live, patch) == {"spec": {"strategy": {"type": "Recreate"}}}


def test_smp_delete_from_primitive_list() -> None:
    live: Obj = {"metadata": {"name": "x", "finalizers": ["a/one", "b/two", "c/three"]}}
    patch: Obj = {"metadata": {"$deleteFromPrimitiveList/finalizers": ["b/two"], "finalizers": ["d/four"]}}
    assert smp(live, patch) == {"metadata": {"name": "x", "finalizers": ["a/one", "c/three", "d/four"]}}
    args_patch: Obj = {
        "spec": {"template": {"spec": {"containers": [{"name": "cart", "$deleteFromPrimitiveList/args": ["--port"]}]}}}
    }
    assert container(smp(deployment(), args_patch), "cart")["args"] == ["8080"]


def test_smp_set_element_order() -> None:
    patch: Obj = {
        "spec": {
            "template": {
                "spec": {
                    "$setElementOrder/containers": [{"name": "sidecar"}, {"name": "cart"}],
                    "containers": [{"name": "sidecar", "image": "shop/proxy:2.2"}],
                }
            }
        }
    }
    result = smp(deployment(), patch)
    assert [c["name"] for c in containers(result)] == ["sidecar", "cart"]
    assert container(result, "sidecar")["image"] == "shop/proxy:2.2"
    assert "$setElementOrder/containers" not in result["spec"]["template"]["spec"]


def test_smp_new_content_is_cleaned_of_nulls_and_directives() -> None:
    patch: Obj = {"spec": {"extra": {"a": 1, "b": None, "c": {"$patch": "merge", "d": 2}}}}
    assert smp({"spec": {}}, patch) == {"spec": {"extra": {"a": 1, "c": {"d": 2}}}}


def test_smp_errors() -> None:
    no_key: Obj = {"spec": {"template": {"spec": {"containers": [{"image": "x"}]}}}}
    with pytest.raises(PatchError, match="/spec/template/spec/containers/0: element lacks merge key 'name'"):
        smp(deployment(), no_key)
    with pytest.raises(PatchError, match="unknown directive"):
        smp(deployment(), {"metadata": {"$frob": 1}})
    with pytest.raises(PatchError, match="unknown \\$patch"):
        smp(deployment(), {"metadata": {"labels": {"$patch": "explode"}}})
    scalar_elem: Obj = {"spec": {"template": {"spec": {"containers": ["cart"]}}}}
    with pytest.raises(PatchError, match="must be an object"):
        smp(deployment(), scalar_elem)
    with pytest.raises(PatchError):
        apply_strategic_merge_patch({}, [])  # type: ignore[arg-type]


def test_smp_result_shares_no_state_with_inputs() -> None:
    live = deployment()
    patch: Obj = {"spec": {"template": {"spec": {"containers": [{"name": "new", "image": "n", "args": ["a"]}]}}}}
    result = apply_strategic_merge_patch(live, patch)
    container(result, "new")["args"].append("b")
    container(result, "cart")["env"].clear()
    assert patch["spec"]["template"]["spec"]["containers"][0]["args"] == ["a"]
    assert len(container(live, "cart")["env"]) == 2


def test_merge_keys_table_is_by_field_name() -> None:
    assert MERGE_KEYS["containers"] == ("name",)
    assert MERGE_KEYS["volumeMounts"] == ("mountPath",)
    assert "tolerations" not in MERGE_KEYS and "args" not in MERGE_KEYS


# --------------------------------------------------------------------------- three-way apply


def manifest() -> Obj:
    """The user's manifest the live deployment() was applied from."""
    live = deployment()
    meta = live["metadata"]
    for field in ("uid", "resourceVersion", "generation", "creationTimestamp"):
        del meta[field]
    del live["status"]
    return live


def apply3(last: Obj | None, live: Obj, desired: Obj) -> Obj:
    before = copy.deepcopy((last, live, desired))
    result = three_way_apply(last, live, desired)
    assert (last, live, desired) == before
    return result


def test_three_way_apply_of_an_unchanged_manifest_is_a_no_op() -> None:
    live = deployment()
    assert apply3(manifest(), live, manifest()) == live


def test_three_way_apply_removes_dropped_env_but_keeps_set_env() -> None:
    last = manifest()
    live = deployment()
    # `kubectl set env deployment/cart FEATURE_X=on` changed the live object only.
    container(live, "cart")["env"].append({"name": "FEATURE_X", "value": "on"})
    desired = manifest()
    container(desired, "cart")["env"] = [{"name": "REDIS_ADDR", "value": "redis:6380"}]

    result = apply3(last, live, desired)
    assert container(result, "cart")["env"] == [
        {"name": "REDIS_ADDR", "value": "redis:6380"},
        {"name": "FEATURE_X", "value": "on"},
    ]
    assert container(result, "sidecar") == container(live, "sidecar")


def test_three_way_apply_without_last_applied_removes_nothing() -> None:
    live = deployment()
    desired = manifest()
    container(desired, "cart")["env"] = [{"name": "REDIS_ADDR", "value": "redis:6380"}]
    del desired["metadata"]["labels"]["tier"]
    result = apply3(None, live, desired)
    assert env_of(result) == {"REDIS_ADDR": "redis:6380", "LOG_LEVEL": "info"}
    assert result["metadata"]["labels"] == {"app": "cart", "tier": "backend"}


def test_three_way_apply_maps_labels_and_annotations() -> None:
    last = manifest()
    live = deployment()
    live["metadata"]["labels"]["injected"] = "by-controller"
    live["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"] = "now"
    desired = manifest()
    del desired["metadata"]["labels"]["tier"]
    desired["metadata"]["annotations"] = {"owner": "ops"}
    result = apply3(last, live, desired)
    assert result["metadata"]["labels"] == {"app": "cart", "injected": "by-controller"}
    assert result["metadata"]["annotations"] == {"owner": "ops", "kubectl.kubernetes.io/restartedAt": "now"}


def test_three_way_apply_removes_a_container_dropped_from_the_manifest() -> None:
    last = manifest()
    live = deployment()
    # A container injected by someone else survives; the dropped sidecar goes.
    containers(live).append({"name": "injected", "image": "mesh/proxy"})
    desired = manifest()
    containers(desired).pop()
    container(desired, "cart")["image"] = "shop/cart:2.0"
    result = apply3(last, live, desired)
    assert [c["name"] for c in containers(result)] == ["cart", "injected"]
    assert container(result, "cart")["image"] == "shop/cart:2.0"


def test_three_way_apply_removes_nested_fields_and_keeps_others() -> None:
    last = manifest()
    live = deployment()
    # `kubectl set resources` added an ephemeral-storage limit outside the manifest.
    container(live, "cart")["resources"]["limits"]["ephemeral-storage"] = "1Gi"
    desired = manifest()
    del container(desired, "cart")["resources"]["limits"]["cpu"]
    del container(desired, "cart")["volumeMounts"]
    result = apply3(last, live, desired)
    assert container(result, "cart")["resources"]["limits"] == {"memory": "256Mi", "ephemeral-storage": "1Gi"}
    assert "volumeMounts" not in container(result, "cart")


def test_three_way_apply_replaces_unkeyed_and_primitive_lists() -> None:
    last = manifest()
    live = deployment()
    live["spec"]["template"]["spec"]["tolerations"].append({"key": "z", "operator": "Exists"})
    container(live, "sidecar")["args"].append("--verbose")
    desired = manifest()
    desired["spec"]["template"]["spec"]["tolerations"] = [{"key": "b", "operator": "Exists"}]
    result = apply3(last, live, desired)
    assert result["spec"]["template"]["spec"]["tolerations"] == [{"key": "b", "operator": "Exists"}]
    assert container(result, "sidecar")["args"] == ["--upstream", "8080"]


def test_three_way_apply_keeps_status_and_server_metadata() -> None:
    live = deployment()
    desired = manifest()
    desired["spec"]["replicas"] = 4
    desired["status"] = {"replicas": 99}
    desired["metadata"]["uid"] = "forged"
    desired["metadata"]["resourceVersion"] = "1"
    live["metadata"]["managedFields"] = [{"manager": "kubectl"}]
    result = apply3(manifest(), live, desired)
    assert result["spec"]["replicas"] == 4
    assert result["status"] == live["status"]
    meta = result["metadata"]
    assert (meta["uid"], meta["resourceVersion"], meta["generation"]) == ("0b7f-uid", "42", 3)
    assert meta["creationTimestamp"] == "2024-01-01T00:00:00Z"
    assert meta["managedFields"] == [{"manager": "kubectl"}]


def test_three_way_apply_null_in_manifest_removes_field() -> None:
    desired = manifest()
    desired["spec"]["template"]["spec"]["tolerations"] = None
    result = apply3(manifest(), deployment(), desired)
    assert "tolerations" not in result["spec"]["template"]["spec"]


def test_three_way_apply_creates_missing_structure() -> None:
    live = deployment()
    desired = manifest()
    container(desired, "sidecar")["env"] = [{"name": "MODE", "value": "strict"}]
    desired["spec"]["template"]["spec"]["nodeSelector"] = {"disk": "ssd"}
    result = apply3(manifest(), live, desired)
    assert env_of(result, "sidecar") == {"MODE": "strict"}
    assert result["spec"]["template"]["spec"]["nodeSelector"] == {"disk": "ssd"}


def test_three_way_apply_finalizers_merge_as_a_set() -> None:
    live = deployment()
    live["metadata"]["finalizers"] = ["ctrl/protect", "user/old"]
    last = manifest()
    last["metadata"]["finalizers"] = ["user/old"]
    desired = manifest()
    desired["metadata"]["finalizers"] = ["user/new"]
    result = apply3(last, live, desired)
    assert result["metadata"]["finalizers"] == ["ctrl/protect", "user/new"]


def test_three_way_apply_result_shares_no_state_with_inputs() -> None:
    live = deployment()
    desired = manifest()
    result = three_way_apply(manifest(), live, desired)
    container(result, "cart")["env"].append({"name": "NEW"})
    result["status"]["replicas"] = 0
    assert len(container(live, "cart")["env"]) == 2
    assert len(container(desired, "cart")["env"]) == 2
    assert live["status"]["replicas"] == 2


# ---------------------------------------------------------------- server-side apply: owners and conflicts


def _deploy(replicas: int, image: str = "web:1") -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"replicas": replicas, "template": {"spec": {"containers": [{"name": "app", "image": image}]}}},
    }


def _owners(obj: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {m["manager"]: m["fieldsV1"] for m in obj["metadata"]["managedFields"]}


def test_server_side_apply_refuses_to_change_another_appliers_field() -> None:
    live = server_side_apply({}, _deploy(1), "alice")
    with pytest.raises(ApplyConflict) as info:
        server_side_apply(live, _deploy(3), "bob")
    assert str(info.value) == 'Apply failed with 1 conflict: conflict with "alice" using apps/v1: .spec.replicas'
    assert live["spec"]["replicas"] == 1  # nothing changed


def test_server_side_apply_of_the_same_value_shares_the_field() -> None:
    live = server_side_apply({}, _deploy(1), "alice")
    shared = server_side_apply(live, _deploy(1), "bob")
    assert "f:replicas" in _owners(shared)["alice"]["f:spec"] and "f:replicas" in _owners(shared)["bob"]["f:spec"]


def test_forced_apply_takes_the_fields_over() -> None:
    live = server_side_apply({}, _deploy(1), "alice")
    forced = server_side_apply(live, _deploy(3, image="web:2"), "bob", force=True)
    assert forced["spec"]["replicas"] == 3
    owners = _owners(forced)
    assert "f:replicas" not in owners["alice"]["f:spec"] and "f:replicas" in owners["bob"]["f:spec"]
    with pytest.raises(ApplyConflict) as info:  # now alice would take it back
        server_side_apply(forced, _deploy(1, image="web:2"), "alice")
    assert info.value.conflicts == [('"bob" using apps/v1', ".spec.replicas")]
    with pytest.raises(ApplyConflict) as many:
        server_side_apply(forced, _deploy(1, image="web:1"), "carol")
    text = str(many.value)
    assert text == (  # bob took both fields over from alice
        'Apply failed with 2 conflicts: conflicts with "bob" using apps/v1:\n'
        '- .spec.replicas\n- .spec.template.spec.containers[name="app"].image'
    )


def test_an_appliers_own_fields_never_conflict() -> None:
    live = server_side_apply({}, _deploy(1), "alice")
    again = server_side_apply(live, _deploy(5), "alice")
    assert again["spec"]["replicas"] == 5 and list(_owners(again)) == ["alice"]
