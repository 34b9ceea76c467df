"""The workload generator: histogram accuracy, templates, open-loop schedule, outcomes, target checks."""

from __future__ import annotations

import asyncio
import json
import math
import random
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from remedlab.apps.catalog import get_app
from remedlab.observe.workload.generator import (
    LoadProfile,
    Target,
    TargetRefused,
    WorkloadRunner,
    arrival_offsets,
)
from remedlab.observe.workload.mix import (
    Mix,
    MixError,
    PathTemplate,
    RequestSpec,
    TemplateError,
    load_app_mix,
    parse_mix,
)
from remedlab.observe.workload.stats import LatencyHistogram, Summary, WorkloadStats

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def random_loopback() -> str:
    return f"127.{random.randint(16, 254)}.{random.randint(0, 255)}.{random.randint(2, 254)}"


def exact_percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q * len(ordered) / 100)) - 1]


# --------------------------------------------------------------------------- histogram


@pytest.mark.parametrize(
    "draw",
    [
        lambda rng: rng.lognormvariate(math.log(0.002), 1.0),  # around 2 ms, long tail
        lambda rng: rng.uniform(0.0002, 8.0),  # 0.2 ms to 8 s
        lambda rng: rng.choice([rng.gauss(0.001, 0.0001), rng.gauss(0.5, 0.05)]),  # bimodal
        lambda rng: rng.expovariate(1 / 0.03) + 0.0001,
    ],
)
def test_histogram_percentiles_are_within_one_percent(draw: Callable[[random.Random], float]) -> None:
    rng = random.Random(7)
    samples = [max(0.0001, draw(rng)) for _ in range(20000)]
    histogram = LatencyHistogram()
    for value in samples:
        histogram.record(value)
    for q in (1, 10, 50, 90, 95, 99, 99.9, 100):
        exact = exact_percentile(samples, q) * 1000
        estimate = histogram.percentile_ms(q)
        assert estimate is not None
        assert abs(estimate - exact) / exact <= 0.01, (q, exact, estimate)
    assert histogram.count == len(samples)
    assert histogram.mean_ms == pytest.approx(sum(samples) / len(samples) * 1000, rel=1e-3)


def test_histograms_merge_and_serialise() -> None:
    rng = random.Random(3)
    samples = [rng.lognormvariate(-5, 1.5) for _ in range(5000)]
    whole, first, second = LatencyHistogram(), LatencyHistogram(), LatencyHistogram()
    for i, value in enumerate(samples):
        whole.record(value)
        (first if i % 2 else second).record(value)
    first.merge(second)
    assert first == whole
    restored = LatencyHistogram.from_dict(json.loads(json.dumps(whole.to_dict())))
    assert restored == whole
    assert restored.percentile_ms(99) == whole.percentile_ms(99)
    assert LatencyHistogram().percentile_ms(50) is None
    with pytest.raises(ValueError):
        whole.percentile_ms(0)


def test_stats_summaries_windows_and_snapshots() -> None:
    stats = WorkloadStats(started_at=1000.0)
    ok_latencies: list[float] = []
    for second in range(5):
        for i in range(10):
            offset = second + i / 10
            stats.record_sent(offset)
            if second == 3 and i < 4:
                stats.record_result(offset, 5.0, "timeout")
            elif second == 4 and i == 0:
                stats.record_result(offset, 0.001, "http_500")
            elif not (second == 4 and i == 9):  # one still in flight
                stats.record_result(offset, 0.001 * (i + 1), "ok")
                ok_latencies.append(0.001 * (i + 1))
    total = stats.total()
    assert (total.sent, total.requests, total.in_flight, total.successes) == (50, 49, 1, 44)
    assert total.errors == {"http_500": 1, "timeout": 4}
    assert total.success_rate == pytest.approx(44 / 49)
    assert total.sent_rps == 10.0 and total.duration_s == 5.0
    for q, value in ((50, total.p50_ms), (95, total.p95_ms), (99, total.p99_ms)):
        assert value == pytest.approx(exact_percentile(ok_latencies, q) * 1000, rel=0.01)

    third = stats.summarize(3, 4)
    assert (third.requests, third.successes, third.success_rate) == (10, 6, 0.6)
    assert stats.summarize(0, 3).errors == {} and stats.summarize(0, 3).success_rate == 1.0
    assert stats.summarize(7, 9).requests == 0 and stats.summarize(7, 9).p50_ms is None
    assert [row.sent for row in stats.per_second()] == [10] * 5

    text = json.dumps(stats.snapshot())
    again = WorkloadStats.from_snapshot(json.loads(text))
    assert again.started_at == 1000.0
    assert again.total() == total
    assert Summary.from_dict(json.loads(json.dumps(total.to_dict()))) == total
    doubled = WorkloadStats.from_snapshot(json.loads(text))
    doubled.merge(stats)
    assert doubled.total().sent == 100 and doubled.total().p99_ms == total.p99_ms


# --------------------------------------------------------------------------- mixes and templates


def test_templates_are_reproducible_with_a_seed() -> None:
    template = PathTemplate("/hotels?inDate=2015-04-{rand_int:9:23:2}&lat={rand_float:37.7:38.1:4}&kind={choice:a|b|c}")
    first = [template.render(random.Random(42)) for _ in range(3)]
    assert first[0] == first[1] == first[2]
    rng_a, rng_b = random.Random(5), random.Random(5)
    assert [template.render(rng_a) for _ in range(50)] == [template.render(rng_b) for _ in range(50)]
    rng = random.Random(1)
    for _ in range(200):
        path = template.render(rng)
        day = path.split("2015-04-")[1][:2]
        assert len(day) == 2 and 9 <= int(day) <= 23
        lat = path.split("lat=")[1].split("&")[0]
        assert len(lat.split(".")[1]) == 4 and 37.7 <= float(lat) <= 38.1
        assert path.rsplit("=", 1)[1] in {"a", "b", "c"}
    west = PathTemplate("/near?lon={rand_float:-122.5:-122.0:3}")
    assert -122.5 <= float(west.render(rng).split("=")[1]) <= -122.0
    assert PathTemplate("/plain").is_constant and PathTemplate("/plain").render(rng) == "/plain"


@pytest.mark.parametrize(
    "text",
    [
        "/x/{rand_int:5:1}",
        "/x/{rand_int:a:b}",
        "/x/{rand_float:1:2:99}",
        "/x/{choice:a||b}",
        "/x/{eval:__import__}",
        "/x/{rand_int:1:2",
        "/x/}",
        "/x/{}",
        "/x/{rand_float:nan:1}",
    ],
)
def test_malformed_templates_are_refused(text: str) -> None:
    with pytest.raises(TemplateError):
        PathTemplate(text)


def test_mixes_pick_by_weight_and_render_bodies() -> None:
    mix = Mix(
        (
            RequestSpec("GET", "/search?id={rand_int:1:100}", 3, name="search"),
            RequestSpec("post", "/book", 1, body={"user": "user_{rand_int:0:9}", "n": 2}, expect_status=(200, 201)),
        )
    )
    assert mix.shares() == {"search": 0.75, "POST /book": 0.25}
    rng = random.Random(11)
    picked = [mix.next_request(rng) for _ in range(4000)]
    searches = sum(1 for r in picked if r.name == "search")
    assert 0.72 < searches / len(picked) < 0.78
    booking = next(r for r in picked if r.method == "POST")
    assert booking.body["n"] == 2 and booking.body["user"].startswith("user_")
    assert booking.expect_status == (200, 201)
    again = random.Random(11)
    assert [mix.next_request(again) for _ in range(4000)] == picked
    with pytest.raises(MixError):
        RequestSpec("GET", "no-slash")
    with pytest.raises(MixError):
        RequestSpec("GET", "/x", weight=0)
    with pytest.raises(MixError):
        parse_mix({"requests": [{"path": "/x", "bogus": 1}]})
    with pytest.raises(MixError):
        parse_mix({"requests": []})


def test_simple_micro_ships_its_workload() -> None:
    mix = load_app_mix(get_app("simple-micro"))
    assert (mix.service, mix.port) == ("hello-service", 5000)
    assert [(r.name, r.method, r.path, r.weight) for r in mix.requests] == [("hello", "GET", "/hello", 1.0)]


# --------------------------------------------------------------------------- schedule


def test_poisson_arrivals_are_seeded() -> None:
    def take(seed: int | None, n: int = 2000) -> list[float]:
        offsets = arrival_offsets(50, poisson=True, seed=seed)
        return [next(offsets) for _ in range(n)]

    assert take(9) == take(9)
    assert take(9) != take(10)
    gaps = [b - a for a, b in zip([0.0, *take(9)], take(9), strict=False)]
    assert all(g > 0 for g in gaps)
    assert sum(gaps) / len(gaps) == pytest.approx(1 / 50, rel=0.08)
    constant = arrival_offsets(40)
    assert [next(constant) for _ in range(3)] == [0.0, 1 / 40, 2 / 40]


# --------------------------------------------------------------------------- live servers


@asynccontextmanager
async def http_server(routes: dict[str, Handler]) -> AsyncIterator[tuple[str, int]]:
    app = web.Application()
    for path, handler in routes.items():
        app.router.add_route("*", path, handler)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
    await runner.setup()
    sock = socket.socket()
    ip = random_loopback()
    sock.bind((ip, 0))
    try:
        await web.SockSite(runner, sock).start()
        yield ip, sock.getsockname()[1]
    finally:
        await runner.cleanup()
        sock.close()


@asynccontextmanager
async def closing_server() -> AsyncIterator[tuple[str, int]]:
    """Reads a request line, then closes the connection without answering."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readline()
        writer.close()

    ip = random_loopback()
    server = await asyncio.start_server(handle, ip, 0)
    try:
        yield ip, server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


def single(path: str) -> Mix:
    return Mix((RequestSpec("GET", path),))


def test_open_loop_is_not_throttled_by_a_slow_server() -> None:
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(0.5)
        return web.json_response({"ok": True})

    async def scenario() -> tuple[WorkloadRunner, float, Summary]:
        async with http_server({"/slow": slow}) as (ip, port):
            runner = WorkloadRunner(Target(ip, port), single("/slow"), LoadProfile(rate=40, duration=1.0))
            began = time.monotonic()
            async with runner:
                await asyncio.sleep(1.1)
                launched = runner.summary()
                assert launched.sent == 40 and launched.requests < 40  # all sent while answers were pending
                total = await runner.wait()
            return runner, time.monotonic() - began, total

    runner, seconds, total = asyncio.run(scenario())
    assert total.sent == 40 and total.successes == 40 and total.success_rate == 1.0
    assert runner.generator.peak_in_flight >= 15
    assert seconds < 2.5
    assert total.p50_ms is not None and 495 < total.p50_ms < 700
    assert runner.window(1).sent == 40 and runner.snapshot()["running"] is False


def test_outcomes_are_classified() -> None:
    async def fail(request: web.Request) -> web.Response:
        return web.Response(status=500, text="boom")

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(2)
        return web.Response(text="late")

    async def hello(request: web.Request) -> web.Response:
        return web.json_response({"message": "hi"})

    async def run(target: Target, path: str, timeout: float = 2.0) -> Summary:
        profile = LoadProfile(rate=100, max_requests=3, timeout=timeout, seed=1)
        async with WorkloadRunner(target, single(path), profile) as runner:
            return await runner.wait()

    async def scenario() -> dict[str, Summary]:
        refused = socket.socket()  # bound but not listening: connections are refused
        refused.bind((random_loopback(), 0))
        try:
            async with (
                http_server({"/fail": fail, "/slow": slow, "/hello": hello}) as (ip, port),
                closing_server() as (closing_ip, closing_port),
            ):
                target = Target(ip, port)
                results = await asyncio.gather(
                    run(target, "/hello"),
                    run(target, "/fail"),
                    run(target, "/slow", timeout=0.3),
                    run(Target(closing_ip, closing_port), "/x"),
                    run(Target(*refused.getsockname()), "/x"),
                )
        finally:
            refused.close()
        return dict(zip(["ok", "http_500", "timeout", "closed", "refused"], results, strict=True))

    results = asyncio.run(scenario())
    assert results["ok"].successes == 3 and results["ok"].errors == {}
    assert results["http_500"].errors == {"http_500": 3} and results["http_500"].success_rate == 0.0
    assert results["timeout"].errors == {"timeout": 3}
    closed = results["closed"].errors
    assert sum(closed.values()) == 3 and set(closed) <= {"reset", "other"}
    assert results["refused"].errors == {"connect_error": 3}
    assert all(r.in_flight == 0 for r in results.values())


def test_stop_ends_a_run_early() -> None:
    async def hello(request: web.Request) -> web.Response:
        return web.Response(text="hi")

    async def scenario() -> tuple[Summary, Summary]:
        async with http_server({"/hello": hello}) as (ip, port):
            runner = WorkloadRunner(Target(ip, port), single("/hello"), LoadProfile(rate=200, duration=60))
            await runner.start()
            await asyncio.sleep(1.2)
            recent = runner.window(1)
            total = await runner.stop()
            return recent, total

    recent, total = asyncio.run(scenario())
    assert 150 <= recent.sent <= 200 and recent.success_rate == 1.0
    assert 200 <= total.sent < 400 and total.in_flight == 0


# --------------------------------------------------------------------------- target checks


@pytest.mark.parametrize(
    "host",
    [
        "10.1.2.3",
        "example.com",
        "0.0.0.0",
        "8.8.8.8",
        "127.1",
        "localhost.",
        "127.0.0.1.nip.io",
        "::ffff:127.0.0.1",
        "::",
    ],
)
def test_non_loopback_targets_are_refused_before_any_network_activity(
    host: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    touched: list[str] = []

    def forbid(name: str) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            touched.append(name)
            raise AssertionError(f"{name} called for a refused target")

        return call

    monkeypatch.setattr(socket, "getaddrinfo", forbid("getaddrinfo"))
    monkeypatch.setattr(socket, "gethostbyname", forbid("gethostbyname"))
    monkeypatch.setattr(socket.socket, "connect", forbid("connect"))
    monkeypatch.setattr(aiohttp.TCPConnector, "__init__", forbid("TCPConnector"))

    with pytest.raises(TargetRefused, match="refusing to send load"):
        WorkloadRunner(Target(host, 80), single("/"), LoadProfile(rate=1, duration=1))
    assert touched == []


def test_loopback_targets_are_accepted() -> None:
    assert Target("127.0.0.1", 80).host == "127.0.0.1"
    assert Target("127.200.3.4", 5000).base_url == "http://127.200.3.4:5000"
    assert Target("localhost", 80).host == "127.0.0.1"
    assert Target("[::1]", 8080).base_url == "http://[::1]:8080"
    assert str(Target("::1", 1).url("/x?y=1")) == "http://[::1]:1/x?y=1"
    with pytest.raises(ValueError):
        Target("127.0.0.1", 0)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"rate": 0, "duration": 1},
        {"rate": float("nan"), "duration": 1},
        {"rate": 1},
        {"rate": 1, "duration": -1},
        {"rate": 1, "max_requests": 0},
        {"rate": 1, "duration": 1, "timeout": 0},
    ],
)
def test_load_profiles_are_bounded(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        LoadProfile(**kwargs)


def test_request_variables_repeat_one_drawn_value() -> None:
    mix = parse_mix(
        {
            "requests": [
                {
                    "name": "login",
                    "vars": {"user": "{rand_int:1:500}"},
                    "path": "/user?username=Cornell_{var:user}&password={var:user}{var:user}",
                    "headers": {"Cookie": "shop_session-id=s{var:user}"},
                    "body": {"who": "{var:user}"},
                }
            ]
        }
    )
    rng = random.Random(7)
    for _ in range(20):
        request = mix.next_request(rng)
        user = request.path.split("Cornell_")[1].split("&")[0]
        assert request.path.endswith(f"password={user}{user}")
        assert request.headers == {"Cookie": f"shop_session-id=s{user}"}
        assert request.body == {"who": user}


def test_undefined_or_nested_variables_are_refused() -> None:
    with pytest.raises(MixError, match=r"\{var:u\} is used but not defined"):
        parse_mix({"requests": [{"path": "/x/{var:u}"}]})
    with pytest.raises(MixError, match="may not refer to other variables"):
        parse_mix({"requests": [{"path": "/x", "vars": {"a": "1", "b": "{var:a}"}}]})
    with pytest.raises(MixError, match="expected \\{var:NAME\\}"):
        parse_mix({"requests": [{"path": "/x/{var:1a}", "vars": {"a": "1"}}]})


def test_stats_per_kind_of_request() -> None:
    stats = WorkloadStats(started_at=1000.0)
    for i in range(10):
        kind = "search" if i < 6 else "checkout"
        stats.record_sent(i * 0.3, kind=kind)
        outcome = "http_500" if kind == "checkout" and i == 9 else "ok"
        stats.record_result(i * 0.3, 0.010 if kind == "search" else 1.0, outcome, kind)
    kinds = stats.summarize_kinds(0, 3)
    assert list(kinds) == ["checkout", "search"]
    assert (kinds["search"].sent, kinds["search"].successes) == (6, 6)
    assert (kinds["checkout"].requests, kinds["checkout"].errors) == (4, {"http_500": 1})
    assert kinds["checkout"].p50_ms is not None and kinds["checkout"].p50_ms > 900
    assert kinds["search"].p50_ms is not None and kinds["search"].p50_ms < 20
    total = stats.summarize(0, 3)
    assert total.sent == 10 and total.successes == 9
    again = WorkloadStats.from_snapshot(json.loads(json.dumps(stats.snapshot())))
    assert again.summarize_kinds(0, 3) == kinds
    merged = WorkloadStats(started_at=1000.0)
    merged.merge(stats)
    merged.merge(stats)
    assert merged.summarize_kinds(0, 3)["search"].sent == 12
