"""Media Microservices on the embedded cluster: every Deployment Ready, register / compose-review / page
read end to end, a compose-review trace through the original's services in the original's order, the
mixed workload, and how a CPU stressor on a service and a network delay on a store show to users and
in the service metrics, then clear."""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from remedlab.apps.media_microservices.dataset import generate, load_spec
from tests.integration.fault_symptoms import Symptom, shows_and_clears
from tests.integration.http_probe import Answer, deployed_app, fetch, new_traceparent, trace_with_servers
from tests.integration.load_harness import check_mix_answered
from tests.integration.server_harness import ServerProcess

pytestmark = pytest.mark.integration

NS = "media-microservices"


@dataclass
class Media:
    server: ServerProcess
    url: str

    def post(self, path: str, form: dict[str, str], **options: Any) -> Answer:
        return fetch(self.url + path, method="POST", form=form, **options)

    def compose(self, title: str, username: str, password: str, text: str, rating: int, **options: Any) -> Answer:
        form = {"title": title, "username": username, "password": password, "text": text, "rating": str(rating)}
        return self.post("/wrk2-api/review/compose", form, **options)

    def page(self, movie_id: str, start: int = 0, stop: int = 10) -> dict[str, Any]:
        query = urllib.parse.urlencode({"movie_id": movie_id, "review_start": start, "review_stop": stop})
        answer = fetch(f"{self.url}/wrk2-api/page/read?{query}")
        assert answer.status == 200, answer
        page: dict[str, Any] = answer.json()
        return page


@pytest.fixture(scope="module")
def media() -> Iterator[Media]:
    with deployed_app(NS, "nginx-web-server", 8080) as (server, url):
        yield Media(server, url)


def test_every_deployment_is_ready(media: Media) -> None:
    items = media.server.ok("GET", f"/apis/apps/v1/namespaces/{NS}/deployments")["items"]
    assert len(items) == 32
    not_ready = [d["metadata"]["name"] for d in items if d["status"].get("readyReplicas") != 1]
    assert not_ready == []


def test_register_compose_review_and_read_the_page_end_to_end(media: Media) -> None:
    catalog = generate(load_spec())
    seeded = catalog.movies[7]
    page = media.page(seeded.movie_id)
    assert page["movie_info"]["title"] == seeded.title and page["plot"] == seeded.plot
    assert [c["cast_info_id"] for c in page["cast_infos"]] == [c.cast_info_id for c in seeded.casts]
    assert page["reviews"] == []

    user = {"first_name": "Ada", "last_name": "Lovelace", "username": "ada", "password": "pw-ada"}
    assert media.post("/wrk2-api/user/register", user).text == "Success!\n"
    assert media.post("/wrk2-api/user/register", user).status == 500
    movie = {"title": "A New Film", "movie_id": "900001"}
    assert media.post("/wrk2-api/movie/register", movie).text == "Success!\n"
    for path, body in [
        ("/wrk2-api/plot/write", {"plot_id": "9001", "plot": "A film written here."}),
        ("/wrk2-api/cast-info/write", {"cast_info_id": "9001", "name": "Ada Lovelace", "gender": "true", "intro": "x"}),
    ]:
        answer = media.post(path, body)
        assert (answer.status, answer.text) == (200, "Success!\n"), (path, answer)
    info = {
        "movie_id": "900001",
        "title": "A New Film",
        "plot_id": 9001,
        "casts": [{"cast_id": 0, "character": "the lead", "cast_info_id": 9001}],
        "thumbnail_ids": [],
        "photo_ids": [],
        "video_ids": [],
        "avg_rating": 0,
        "num_rating": 0,
    }
    answer = fetch(media.url + "/wrk2-api/movie-info/write", method="POST", json_body=info)
    assert (answer.status, answer.text) == (200, "Success!\n"), answer

    for rating, text in [(7, "first review"), (9, "second review")]:
        answer = media.compose("A New Film", "ada", "pw-ada", text, rating)
        assert (answer.status, answer.text) == (200, "Success!\n"), answer
    page = media.page("900001")
    assert page["plot"] == "A film written here." and page["cast_infos"][0]["name"] == "Ada Lovelace"
    assert [(r["text"], r["rating"]) for r in page["reviews"]] == [("second review", 9), ("first review", 7)]
    assert [r["text"] for r in media.page("900001", 1, 2)["reviews"]] == ["first review"]
    unknown = media.compose("No Such Film", "ada", "pw-ada", "lost", 5)
    assert unknown.status == 500 and "Movie No Such Film is not found" in unknown.text, unknown
    incomplete = media.post("/wrk2-api/review/compose", {"title": "A New Film"})
    assert (incomplete.status, incomplete.text) == (400, "Incomplete arguments\n")


def _span(spans: list[dict[str, Any]], service: str, kind: str, needle: str) -> list[dict[str, Any]]:
    found = [s for s in spans if s["service"] == service and s["kind"] == kind and needle in s["operation"]]
    assert found, f"no {kind} span of {service} with {needle!r} in {[(s['service'], s['operation']) for s in spans]}"
    return found


def _callees(spans: list[dict[str, Any]], caller: dict[str, Any]) -> list[dict[str, Any]]:
    calls = [s for s in spans if s["parentSpanId"] == caller["spanId"] and s["kind"] == "CLIENT"]
    return sorted(calls, key=lambda s: s["start"])


def _peers(calls: list[dict[str, Any]]) -> list[str]:
    """The services called (not the stores)."""
    peers = [s["attributes"].get("peer.service", "") for s in calls]
    return [peer for peer in peers if peer.endswith("-service")]


def _systems(spans: list[dict[str, Any]], served: dict[str, Any]) -> set[str]:
    return {s["attributes"].get("db.system", "") for s in spans if s["parentSpanId"] == served["spanId"]}


def test_a_compose_review_trace_follows_the_originals_services_in_order(media: Media) -> None:
    trace_id, traceparent = new_traceparent()
    answer = media.compose(
        "Paper Voyage", "username_3", "password_3", "traced", 8, headers={"traceparent": traceparent}
    )
    assert answer.status == 200, answer
    services = {
        "nginx-web-server",
        "unique-id-service",
        "movie-id-service",
        "text-service",
        "user-service",
        "rating-service",
        "compose-review-service",
        "review-storage-service",
        "user-review-service",
        "movie-review-service",
    }
    trace = media.server.wait_for(
        lambda: trace_with_servers(media.server, trace_id, services, 30), timeout=15, what="the compose-review trace"
    )
    spans = trace["spans"]
    assert all(s["status"] != "ERROR" for s in spans), [s for s in spans if s["status"] == "ERROR"]
    (front,) = _span(spans, "nginx-web-server", "SERVER", "/wrk2-api/review/compose")
    # the front end's four calls at once, as the original's Lua threads
    first = {"user-service", "movie-id-service", "text-service", "unique-id-service"}
    assert set(_peers(_callees(spans, front))) == first
    (movie_id,) = _span(spans, "movie-id-service", "SERVER", "UploadMovieId")
    assert set(_peers(_callees(spans, movie_id))) == {"compose-review-service", "rating-service"}
    for service, method in [
        ("unique-id-service", "UploadUniqueId"),
        ("text-service", "UploadText"),
        ("user-service", "UploadUserWithUsername"),
        ("rating-service", "UploadRating"),
    ]:
        (served,) = _span(spans, service, "SERVER", method)
        assert "compose-review-service" in _peers(_callees(spans, served)), service
    # compose-review gets the five parts; the call bringing the last stores and indexes the review
    uploads = _span(spans, "compose-review-service", "SERVER", "/media_service.ComposeReviewService/Upload")
    assert len(uploads) == 5
    (last,) = [u for u in uploads if _callees(spans, u) and "review-storage-service" in _peers(_callees(spans, u))]
    stores = [c for c in _callees(spans, last) if c["attributes"].get("peer.service", "").endswith("review-service")]
    stores += [c for c in _callees(spans, last) if c["attributes"].get("peer.service") == "review-storage-service"]
    assert set(_peers(stores)) == {"review-storage-service", "user-review-service", "movie-review-service"}
    assert min(s["start"] for s in stores) >= max(u["start"] for u in uploads)
    # each service's own stores, as the original's
    expected = {
        ("compose-review-service", "UploadText"): {"memcached"},
        ("rating-service", "UploadRating"): {"redis"},
        ("review-storage-service", "StoreReview"): {"postgresql"},
        ("user-review-service", "UploadUserReview"): {"postgresql", "redis"},
        ("movie-review-service", "UploadMovieReview"): {"postgresql", "redis"},
    }
    for (service, method), systems in expected.items():
        (served,) = _span(spans, service, "SERVER", method)
        assert systems <= _systems(spans, served), (service, _systems(spans, served))


def test_every_kind_of_the_mixed_workload_is_answered_well(media: Media) -> None:
    host, port = media.url.removeprefix("http://").rsplit(":", 1)
    check_mix_answered(host, int(port), NS, rate=10)


def test_network_delay_on_the_movie_review_redis_slows_page_reads_until_stopped(media: Media) -> None:
    symptom = Symptom(
        "network-delay",
        "movie-review-redis",
        "read-page",
        "movie-review-service",
        overrides=("delay.latency=150ms",),
        min_extra_ms=100.0,
        rate=10.0,
    )
    shows_and_clears(media.server, media.url, NS, symptom)


def test_cpu_stress_on_page_service_slows_page_reads_until_stopped(media: Media) -> None:
    symptom = Symptom("cpu-stress", "page-service", "read-page", "page-service", rate=10.0)
    shows_and_clears(media.server, media.url, NS, symptom)
