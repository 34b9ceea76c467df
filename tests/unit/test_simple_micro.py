"""simple-micro as real processes: hello-service calling time-service, plus its manifests."""

from __future__ import annotations

import importlib.util
import json
import math
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
import yaml

from remedlab.api.objects import Deployment, Namespace, PersistentVolumeClaim, Service

HELLO_MODULE = "remedlab.apps.simple_micro.hello"
TIME_MODULE = "remedlab.apps.simple_micro.time_service"
APPS = Path(str(files("remedlab.apps")))
MANIFEST = APPS / "simple_micro" / "manifests" / "simple-micro.yaml"
TS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
MB = 1024 * 1024


def random_loopback(taken: set[str] | None = None) -> str:
    while True:
        ip = f"127.{random.randint(16, 254)}.{random.randint(0, 255)}.{random.randint(2, 254)}"
        if not taken or ip not in taken:
            return ip


# --------------------------------------------------------------------------- processes


@dataclass
class RunningService:
    """A service process, its address and the lines it has written so far."""

    name: str
    ip: str
    port: int
    proc: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)
    ready_seconds: float = math.inf
    reader: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.ip}:{self.port}"

    def records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in list(self.lines)]

    def wait_for(self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 3.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            for record in self.records():
                if predicate(record):
                    return record
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name}: no matching log line in {self.lines}")
            time.sleep(0.01)

    def rss_bytes(self) -> int:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=5)
        if self.reader is not None:
            self.reader.join(timeout=5)


def start_service(name: str, module: str, port: int, ip: str, env: dict[str, str]) -> RunningService:
    """Start ``module`` as a process on ``ip`` and wait until it accepts connections."""
    base = {k: v for k, v in os.environ.items() if not k.endswith(("_SERVICE_HOST", "_SERVICE_PORT"))}
    base.update(env, REMEDLAB_POD_IP=ip, HOSTNAME=f"{name}-7d9f8-x2k4q", SERVICE_NAME=name)
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", module],
        env=base,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    service = RunningService(name, ip, port, proc)
    try:

        def pump() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                service.lines.append(line.rstrip("\n"))

        service.reader = threading.Thread(target=pump, daemon=True)
        service.reader.start()
        deadline = started + 5.0
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"{name} exited with {proc.returncode}: {service.lines}")
            try:
                socket.create_connection((ip, port), timeout=0.2).close()
                break
            except OSError:
                if time.perf_counter() > deadline:
                    raise AssertionError(f"{name} is not listening on {ip}:{port}") from None
                time.sleep(0.005)
        service.ready_seconds = time.perf_counter() - started
        return service
    except BaseException:
        service.stop()
        raise


@dataclass
class SimpleMicro:
    hello: RunningService
    time: RunningService


def running_simple_micro() -> Iterator[SimpleMicro]:
    """time-service and hello-service, hello finding time-service through the Kubernetes variables."""
    started: list[RunningService] = []
    try:
        time_ip = random_loopback()
        started.append(start_service("time-service", TIME_MODULE, 5001, time_ip, {}))
        env = {"TIME_SERVICE_SERVICE_HOST": time_ip, "TIME_SERVICE_SERVICE_PORT": "5001"}
        started.append(start_service("hello-service", HELLO_MODULE, 5000, random_loopback({time_ip}), env))
        yield SimpleMicro(hello=started[1], time=started[0])
    finally:
        for service in started:
            service.stop()


@pytest.fixture(scope="module")
def app() -> Iterator[SimpleMicro]:
    yield from running_simple_micro()


@pytest.fixture
def fresh_app() -> Iterator[SimpleMicro]:
    yield from running_simple_micro()


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    """GET ``url`` directly (never through an HTTP proxy of the environment); the body as JSON."""
    status, body = get_raw(url, headers)
    return status, json.loads(body)


def get_raw(url: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(urllib.request.Request(url, headers=headers or {}), timeout=10) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


# --------------------------------------------------------------------------- Prometheus text

SampleKey = tuple[str, frozenset[tuple[str, str]]]
_SAMPLE_RE = re.compile(r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>.*)\})? (?P<value>\S+)$")
_LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)')
_HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")


def parse_prometheus(text: str) -> dict[SampleKey, float]:
    """Check ``text`` is valid Prometheus exposition and return its samples."""
    assert text.endswith("\n")
    types: dict[str, str] = {}
    helps: set[str] = set()
    samples: dict[SampleKey, float] = {}
    for line in text.splitlines():
        if line.startswith("# HELP "):
            name = line.split(" ", 3)[2]
            assert name not in helps, f"second HELP for {name}"
            helps.add(name)
        elif line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert kind in {"counter", "gauge", "histogram", "summary", "untyped"}, line
            assert name not in types, f"second TYPE for {name}"
            types[name] = kind
        elif line.startswith("#") or not line:
            continue
        else:
            match = _SAMPLE_RE.match(line)
            assert match, f"not a sample line: {line!r}"
            name = match["name"]
            family = next(
                (name.removesuffix(s) for s in _HISTOGRAM_SUFFIXES if types.get(name.removesuffix(s)) == "histogram"),
                name,
            )
            assert family in types, f"sample before its TYPE: {line!r}"
            labels: list[tuple[str, str]] = []
            rest = match["labels"] or ""
            while rest:
                pair = _LABEL_RE.match(rest)
                assert pair, f"bad labels in {line!r}"
                labels.append((pair[1], pair[2]))
                rest = rest[pair.end() :]
            assert len({k for k, _ in labels}) == len(labels), f"repeated label in {line!r}"
            key = (name, frozenset(labels))
            assert key not in samples, f"duplicate sample {line!r}"
            samples[key] = float(match["value"])
    for family, kind in types.items():
        if kind == "histogram":
            check_histogram(family, samples)
    return samples


def check_histogram(family: str, samples: dict[SampleKey, float]) -> None:
    series: dict[frozenset[tuple[str, str]], list[tuple[float, float]]] = {}
    for (name, labels), value in samples.items():
        if name == f"{family}_bucket":
            le = dict(labels)["le"]
            series.setdefault(labels - {("le", le)}, []).append((float(le), value))
    for labels, buckets in series.items():
        buckets.sort()
        counts = [count for _, count in buckets]
        assert counts == sorted(counts), f"{family} buckets not cumulative"
        assert buckets[-1][0] == math.inf
        assert samples[(f"{family}_count", labels)] == buckets[-1][1]
        assert (f"{family}_sum", labels) in samples


def sample(samples: dict[SampleKey, float], name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def scrape(service: RunningService) -> dict[SampleKey, float]:
    status, text = get_raw(f"{service.url}/metrics")
    assert status == 200
    return parse_prometheus(text)


# --------------------------------------------------------------------------- behaviour


def test_services_start_fast_and_stay_small(app: SimpleMicro) -> None:
    for _ in range(20):
        assert get(f"{app.hello.url}/hello")[0] == 200
    for service in (app.time, app.hello):
        rss = service.rss_bytes()
        print(f"{service.name}: listening after {service.ready_seconds * 1000:.0f} ms, RSS {rss / MB:.1f} MB")
        assert service.ready_seconds < 1.5
        assert rss < 80 * MB
        listening = service.wait_for(lambda r: r["msg"].startswith("listening on"))
        assert listening["address"] == service.ip and listening["port"] == service.port


def test_hello_answers_with_the_time(app: SimpleMicro) -> None:
    status, body = get(f"{app.hello.url}/hello")
    assert status == 200
    assert set(body) == {"message", "time", "from"}
    assert body["message"] == "Hello, world!"
    assert body["from"] == "hello-service-7d9f8-x2k4q"
    assert TS_RE.match(body["time"])
    moment = datetime.fromisoformat(body["time"].replace("Z", "+00:00"))
    assert abs((datetime.now(UTC) - moment).total_seconds()) < 60

    status, direct = get(f"{app.time.url}/time")
    assert status == 200 and set(direct) == {"time", "epoch"}
    assert isinstance(direct["epoch"], float)
    parsed = datetime.fromisoformat(direct["time"].replace("Z", "+00:00")).timestamp()
    assert abs(parsed - direct["epoch"]) < 0.002


def test_health_endpoints(app: SimpleMicro) -> None:
    for service in (app.hello, app.time):
        assert get(f"{service.url}/healthz") == (200, {"status": "ok"})
        assert get(f"{service.url}/readyz") == (200, {"status": "ready"})


def test_logs_are_json_lines_with_the_standard_fields(app: SimpleMicro) -> None:
    assert get(f"{app.hello.url}/hello?probe=logs")[0] == 200
    access = app.hello.wait_for(lambda r: r.get("path") == "/hello" and r.get("status") == 200)
    for service in (app.hello, app.time):
        for record in service.records():  # every line is JSON
            assert TS_RE.match(record["ts"])
            assert record["level"] in {"debug", "info", "warning", "error"}
            assert record["service"] == service.name
            assert record["trace_id"] is None or re.fullmatch(r"[0-9a-f]{32}", record["trace_id"])
            assert isinstance(record["msg"], str)
    assert access["msg"] == "GET /hello 200" and access["method"] == "GET"
    assert isinstance(access["duration_ms"], float) and access["duration_ms"] >= 0
    # time-service saw the call coming from hello-service's pod IP.
    upstream = app.time.wait_for(lambda r: r.get("path") == "/time" and r["trace_id"] == access["trace_id"])
    assert upstream["remote"] == app.hello.ip


def test_metrics_are_prometheus_text_and_count_requests(app: SimpleMicro) -> None:
    hello_before, time_before = scrape(app.hello), scrape(app.time)
    for _ in range(3):
        assert get(f"{app.hello.url}/hello")[0] == 200
    hello_after, time_after = scrape(app.hello), scrape(app.time)

    def delta(before: dict[SampleKey, float], after: dict[SampleKey, float], name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    hello_ok = {"route": "/hello", "method": "GET", "status": "200"}
    assert delta(hello_before, hello_after, "http_requests_total", **hello_ok) == 3
    assert delta(hello_before, hello_after, "http_request_duration_seconds_count", route="/hello") == 3
    assert delta(hello_before, hello_after, "upstream_requests_total", service="time-service", outcome="ok") == 3
    assert delta(hello_before, hello_after, "upstream_request_duration_seconds_count", service="time-service") == 3
    time_ok = {"route": "/time", "method": "GET", "status": "200"}
    assert delta(time_before, time_after, "http_requests_total", **time_ok) == 3
    # The scrape before was counted by the time of the scrape after.
    assert sample(hello_after, "http_requests_total", route="/metrics", method="GET", status="200") >= 1


def test_traceparent_propagates_to_time_service(app: SimpleMicro) -> None:
    trace_id = f"{random.getrandbits(128):032x}"
    header = f"00-{trace_id}-{random.getrandbits(64):016x}-01"
    assert get(f"{app.hello.url}/hello", {"traceparent": header})[0] == 200
    app.hello.wait_for(lambda r: r["trace_id"] == trace_id and r.get("path") == "/hello")
    app.time.wait_for(lambda r: r["trace_id"] == trace_id and r.get("path") == "/time")

    # Without one, hello-service starts a trace and passes it on.
    assert get(f"{app.hello.url}/hello?probe=no-trace")[0] == 200
    started = app.hello.wait_for(lambda r: r.get("path") == "/hello" and r["trace_id"] not in (None, trace_id))
    app.time.wait_for(lambda r: r["trace_id"] == started["trace_id"] and r.get("path") == "/time")


def test_time_service_down_gives_503_and_an_error_line(fresh_app: SimpleMicro) -> None:
    assert get(f"{fresh_app.hello.url}/hello")[0] == 200
    fresh_app.time.proc.send_signal(signal.SIGKILL)
    fresh_app.time.proc.wait(timeout=5)

    started = time.monotonic()
    status, body = get(f"{fresh_app.hello.url}/hello")
    assert time.monotonic() - started < 1.5  # refused at once, one quick retry
    assert status == 503
    assert body["error"] == "time-service unavailable" and "time-service" in body["detail"]
    error = fresh_app.hello.wait_for(lambda r: r["level"] == "error")
    assert error["msg"] == "cannot get the time from time-service"
    assert error["error"]["type"] == "UpstreamError" and "Connection refused" in error["error"]["message"]
    assert "Traceback" in error["stack"]
    access = fresh_app.hello.wait_for(lambda r: r.get("status") == 503)
    assert access["trace_id"] == error["trace_id"]
    retried = fresh_app.hello.wait_for(lambda r: r["level"] == "warning")
    assert retried["outcome"] == "connect_error" and retried["attempt"] == 1
    metrics = scrape(fresh_app.hello)
    assert sample(metrics, "upstream_requests_total", service="time-service", outcome="connect_error") == 2
    assert sample(metrics, "http_requests_total", route="/hello", method="GET", status="503") == 1

    signalled = time.monotonic()
    fresh_app.hello.proc.send_signal(signal.SIGTERM)
    assert fresh_app.hello.proc.wait(timeout=6) == 0
    assert time.monotonic() - signalled < 1.0
    fresh_app.hello.wait_for(lambda r: r["msg"] == "stopped")


def test_hello_without_discovery_variables_says_which_are_missing() -> None:
    hello = start_service("hello-service", HELLO_MODULE, 5000, random_loopback(), {})
    try:
        status, body = get(f"{hello.url}/hello")
        assert status == 503 and "TIME_SERVICE_SERVICE_HOST" in body["detail"]
        error = hello.wait_for(lambda r: r["level"] == "error")
        assert "TIME_SERVICE_SERVICE_HOST and TIME_SERVICE_SERVICE_PORT not set" in error["error"]["message"]
        hello.proc.send_signal(signal.SIGTERM)
        assert hello.proc.wait(timeout=6) == 0
    finally:
        hello.stop()


# --------------------------------------------------------------------------- manifests, images, catalog


def manifest_documents() -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(MANIFEST.read_text()) if doc is not None]


def test_manifests_validate_as_cluster_objects() -> None:
    docs = manifest_documents()
    assert docs[0]["kind"] == "Namespace"
    models = {
        "Namespace": Namespace,
        "Service": Service,
        "Deployment": Deployment,
        "PersistentVolumeClaim": PersistentVolumeClaim,
    }
    objects = [models[doc["kind"]].model_validate(doc) for doc in docs]
    namespaces = [o for o in objects if isinstance(o, Namespace)]
    services = {o.metadata.name: o for o in objects if isinstance(o, Service)}
    deployments = {o.metadata.name: o for o in objects if isinstance(o, Deployment)}
    assert [n.metadata.name for n in namespaces] == ["simple-micro"]
    assert set(services) == set(deployments) == {"hello-service", "time-service"}
    # Services come before the pods that need their variables.
    kinds = [doc["kind"] for doc in docs]
    assert max(i for i, k in enumerate(kinds) if k == "Service") < kinds.index("Deployment")

    expected = {
        "hello-service": ("remedlab/simple-micro-hello:1.0", 5000),
        "time-service": ("remedlab/simple-micro-time:1.0", 5001),
    }
    for name, (image, port) in expected.items():
        deployment, service = deployments[name], services[name]
        assert deployment.metadata.namespace == service.metadata.namespace == "simple-micro"
        spec = deployment.spec
        assert spec.replicas == 1
        assert spec.selector.match_labels == {"app": name} == spec.template.metadata.labels
        (container,) = spec.template.spec.containers
        assert container.name == name and container.image == image
        assert [p.container_port for p in container.ports] == [port]
        assert container.resources.requests == {"cpu": "100m", "memory": "300Mi"}
        assert container.resources.limits == {"cpu": "500m", "memory": "2000Mi"}
        readiness, liveness = container.readiness_probe, container.liveness_probe
        assert readiness is not None and readiness.http_get is not None
        assert (readiness.http_get.path, readiness.http_get.port) == ("/healthz", port)
        assert (readiness.period_seconds, readiness.initial_delay_seconds) == (1, 0)
        assert liveness is not None and liveness.http_get is not None
        assert (liveness.http_get.path, liveness.period_seconds, liveness.failure_threshold) == (
            "/healthz",
            5,
            3,
        )
        env = {e.name: e.value for e in container.env}
        assert env["SERVICE_NAME"] == name
        # spans go to the node-local OTLP collector, found through the downward API
        (host_ip,) = [e for e in container.env if e.name == "HOST_IP"]
        assert host_ip.value_from is not None and host_ip.value_from.field_ref is not None
        assert host_ip.value_from.field_ref.field_path == "status.hostIP"
        names = [e.name for e in container.env]
        assert names.index("HOST_IP") < names.index("OTEL_EXPORTER_OTLP_ENDPOINT")
        assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://$(HOST_IP):4318"
        assert service.spec.selector == {"app": name}
        ((svc_port, target),) = [(p.port, p.target_port) for p in service.spec.ports]
        assert svc_port == target == port
        # as MicroRemed's manifests give them: an emptyDir at /var/log/mysql, where its disk-io aims
        pod = deployments[name].spec.template.spec
        assert ("mysql-logs", "/var/log/mysql") in [(m.name, m.mount_path) for m in container.volume_mounts]
        assert any(v.name == "mysql-logs" and v.empty_dir is not None for v in pod.volumes)
    time_container = deployments["time-service"].spec.template.spec.containers[0]
    assert [(m.name, m.mount_path) for m in time_container.volume_mounts] == [
        ("data", "/data"),
        ("mysql-logs", "/var/log/mysql"),
    ]


def test_images_map_to_runnable_entry_points() -> None:
    images = yaml.safe_load((APPS / "images.yaml").read_text())["images"]
    for doc in manifest_documents():
        if doc["kind"] != "Deployment":
            continue
        for container in doc["spec"]["template"]["spec"]["containers"]:
            repo, tag = container["image"].rsplit(":", 1)
            entry = images[repo]
            assert tag in entry["tags"]
            argv = entry["entrypoint"]
            assert argv[:2] == ["{python}", "-m"] and importlib.util.find_spec(argv[2]) is not None
            assert entry["cmd"] == [] and entry["binaries"] == {}
    busybox = images["busybox"]
    assert busybox["tags"] == ["latest", "1.36"] and busybox["entrypoint"] == [] and busybox["cmd"] == ["sh"]
    assert all(isinstance(k, str) and isinstance(v, list) for k, v in busybox["binaries"].items())
    assert busybox["binaries"]["sh"] == ["sh"]


def test_catalog_points_at_the_manifests() -> None:
    catalog = yaml.safe_load((APPS / "catalog.yaml").read_text())["apps"]
    entry = catalog["simple-micro"]
    assert entry["namespace"] == "simple-micro"
    assert (APPS / entry["manifests"] / "simple-micro.yaml").is_file()
    assert entry["entry"] == {"service": "hello-service", "port": 5000, "path": "/hello"}
    assert "hello-service calls time-service" in entry["description"]
