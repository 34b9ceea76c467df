"""The fault catalog, spec validation, overrides and pod selection (no processes)."""

from __future__ import annotations

import random
from importlib import resources
from typing import Any, cast

import pytest
import yaml

from remedlab.api.client import Backend
from remedlab.api.durations import parse_duration, parse_percent, parse_rate, parse_size
from remedlab.api.errors import BadRequest, Invalid, NotFound
from remedlab.apps.catalog import get_app
from remedlab.chaos.catalog import apply_overrides, build_chaos, get_fault, load_catalog, parse_override
from remedlab.chaos.controller import register_validators
from remedlab.chaos.selection import choose
from remedlab.cluster.apiserver.validation import validate_object

register_validators()

MICROREMED: dict[str, tuple[str, dict[str, Any]]] = {
    "cpu-stress": ("StressChaos", {"stressors": {"cpu": {"workers": 10, "load": 100}}}),
    "memory-stress": ("StressChaos", {"stressors": {"memory": {"workers": 1, "size": "1280MiB"}}}),
    "network-delay": ("NetworkChaos", {"delay": {"latency": "1000ms", "correlation": "0", "jitter": "0ms"}}),
    "network-loss": ("NetworkChaos", {"loss": {"loss": "50", "correlation": "0"}}),
    "disk-io": ("IOChaos", {"delay": "5s", "percent": 50}),
    "pod-fail": ("PodChaos", {"action": "pod-failure", "duration": "1200s"}),
    "pod-config-error": (
        "FunctionalChaos",
        {"requests": {"cpu": "1m", "memory": "100Mi"}, "limits": {"cpu": "2m", "memory": "200Mi"}},
    ),
}


@pytest.mark.parametrize("name", sorted(MICROREMED))
def test_catalog_keeps_microremed_parameters(name: str) -> None:
    kind, expected = MICROREMED[name]
    fault = get_fault(name)
    assert fault.kind == kind
    for key, value in expected.items():
        assert fault.spec[key] == value
    assert fault.truth["system_level"] and fault.truth["fault_type"]


def _resource(kind: str, spec: dict[str, Any]) -> dict[str, Any]:
    version = "chaos.remedlab.io/v1alpha1" if kind == "FunctionalChaos" else "chaos-mesh.org/v1alpha1"
    return {"apiVersion": version, "kind": kind, "metadata": {"name": "x", "namespace": "ns"}, "spec": spec}


@pytest.mark.parametrize("name", sorted(load_catalog()))
def test_every_catalog_fault_is_a_valid_resource(name: str) -> None:
    fault = get_fault(name)
    spec = dict(fault.spec)
    if fault.kind == "IOChaos":
        spec["volumePath"] = "/data"
    if fault.kind == "HTTPChaos":
        spec["port"] = 8080
    if fault.kind == "PodChaos" and spec["action"] == "container-kill":
        spec["containerNames"] = ["app"]
    validate_object(_resource(fault.kind, spec))


@pytest.mark.parametrize(
    ("kind", "spec", "message"),
    [
        ("NetworkChaos", {"action": "loss", "loss": {"loss": "150"}}, "between 0 and 100"),
        ("NetworkChaos", {"action": "delay"}, "needs spec.delay"),
        ("NetworkChaos", {"action": "delay", "delay": {"latency": "soon"}}, "invalid duration"),
        ("NetworkChaos", {"action": "bandwidth", "bandwidth": {"rate": "fast"}}, "invalid rate"),
        ("NetworkChaos", {"action": "delay", "delay": {"latency": "1s"}, "externalTargets": ["10.0.0.1"]}, "outside"),
        ("StressChaos", {"stressors": {}}, "give a cpu or memory stressor"),
        ("StressChaos", {"stressors": {"cpu": {"workers": 0}}}, "workers"),
        ("IOChaos", {"action": "latency", "volumePath": "/data"}, "needs delay"),
        ("IOChaos", {"action": "fault", "volumePath": "data", "errno": 5}, "absolute path"),
        ("PodChaos", {"action": "container-kill"}, "needs containerNames"),
        ("PodChaos", {"action": "pod-explode"}, "action"),
        ("HTTPChaos", {"target": "Request", "port": 80}, "abort, delay"),
        ("StressChaos", {"mode": "fixed-percent", "stressors": {"cpu": {"workers": 1}}}, "value is required"),
        (
            "StressChaos",
            {"mode": "fixed-percent", "value": "150", "stressors": {"cpu": {"workers": 1}}},
            "out of range",
        ),
        ("TimeChaos", {"timeOffset": "yesterday"}, "invalid duration"),
        ("StressChaos", {"stressors": {"cpu": {"workers": 1}}, "bogus": 1}, 'unknown field "spec.bogus"'),
    ],
)
def test_bad_specs_are_refused_with_one_line_naming_the_problem(kind: str, spec: dict[str, Any], message: str) -> None:
    with pytest.raises((Invalid, BadRequest)) as info:
        validate_object(_resource(kind, spec))
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_overrides_set_nested_fields_with_yaml_values() -> None:
    spec = {"stressors": {"cpu": {"workers": 10, "load": 100}}}
    out = apply_overrides(spec, ["stressors.cpu.workers=2", "spec.duration=60s", "mode=all"])
    assert out == {"stressors": {"cpu": {"workers": 2, "load": 100}}, "duration": "60s", "mode": "all"}
    assert spec["stressors"]["cpu"]["workers"] == 10  # the catalog's copy is untouched
    assert parse_override("delay.latency=200ms") == (["delay", "latency"], "200ms")
    with pytest.raises(BadRequest, match="key=value"):
        parse_override("nonsense")


def test_modes_choose_pods_reproducibly() -> None:
    pods = [{"metadata": {"name": f"p{i}", "namespace": "ns", "uid": str(i)}} for i in range(10)]

    def names(mode: str, value: str | None, seed: int) -> list[str]:
        return [p["metadata"]["name"] for p in choose(pods, mode, value, random.Random(seed))]

    assert len(names("one", None, 1)) == 1
    assert len(names("all", None, 1)) == 10
    assert len(names("fixed", "3", 1)) == 3
    assert len(names("fixed-percent", "50", 1)) == 5
    assert 0 <= len(names("random-max-percent", "30", 1)) <= 3
    assert names("fixed", "3", 7) == names("fixed", "3", 7)
    assert choose([], "all", None, random.Random(1)) == []


def test_parameter_formats() -> None:
    assert parse_duration("1000ms") == 1.0
    assert parse_duration("1h2m3s") == 3723.0
    assert parse_duration("-10m") == -600.0
    assert parse_rate("1mbps") == 1e6
    assert parse_rate("8mbit") == 1e6
    assert parse_percent("50") == 50.0
    assert parse_size("1280MiB") == 1280 * 2**20
    for bad, parser in (("5 parsecs", parse_duration), ("fast", parse_rate), ("lots", parse_size)):
        with pytest.raises(ValueError):
            parser(bad)


class _Deployments:
    """Answers `get` of Deployments from the app manifests, as a backend would."""

    def __init__(self, app: str) -> None:
        folder = resources.files("remedlab.apps").joinpath(get_app(app).manifests)
        docs = [d for f in folder.iterdir() for d in yaml.safe_load_all(f.read_text()) if d]
        self.deployments = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Deployment"}

    def get(self, resource: str, namespace: str | None, name: str) -> dict[str, Any]:
        if resource == "deployments" and name in self.deployments:
            return dict(self.deployments[name])
        raise NotFound.of(resource, name)


@pytest.mark.parametrize("app", ["simple-micro", "online-boutique", "hotel-reservation"])
def test_disk_io_aims_where_microremed_does_on_every_disk_io_target(app: str) -> None:
    """MicroRemed's IOChaos names volumePath /var/log/mysql: every disk-io target of the MicroRemed apps
    mounts it, and the fault aims there; elsewhere (the databases) at the target's own volume."""
    backend = cast(Backend, _Deployments(app))
    for target in get_app(app).targets_for("disk-io"):
        chaos = build_chaos(backend, "disk-io", target, get_app(app).namespace)
        expected = "/var/log/mysql" if app != "hotel-reservation" else "/var/lib/postgresql/data"
        assert chaos["spec"]["volumePath"] == expected, (target, chaos["spec"])
        validate_object(chaos)
