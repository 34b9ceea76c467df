"""Social Network on the embedded cluster: the seeded social graph, register / follow / compose / read
end to end, a compose-post trace through the original's services in the original's order, the mixed
workload, and how a CPU stressor on a service and a network delay on a store show to users and in
the service metrics, then clear."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest

from remedlab.apps.social_network.graph import default_graph
from tests.integration.fault_symptoms import Symptom, shows_and_clears
from tests.integration.http_probe import Answer, deployed_app, fetch, new_traceparent, trace_with_servers
from tests.integration.load_harness import check_mix_answered
from tests.integration.server_harness import ServerProcess

pytestmark = pytest.mark.integration

NS = "social-network"
SHORT_URL = "http://short-url/"


@dataclass
class Social:
    server: ServerProcess
    url: str

    def get(self, path: str, **options: Any) -> Answer:
        return fetch(self.url + path, **options)

    def post(self, path: str, form: dict[str, str], **options: Any) -> Answer:
        return fetch(self.url + path, method="POST", form=form, **options)

    def register(self, user_id: int, username: str) -> Answer:
        form = {
            "first_name": f"first {username}",
            "last_name": f"last {username}",
            "username": username,
            "password": f"pw-{username}",
            "user_id": str(user_id),
        }
        return self.post("/wrk2-api/user/register", form)

    def compose(
        self,
        username: str,
        user_id: int,
        text: str,
        *,
        headers: dict[str, str] | None = None,
        extra: dict[str, str] | None = None,
    ) -> Answer:
        form = {"username": username, "user_id": str(user_id), "text": text, "post_type": "0", **(extra or {})}
        return self.post("/wrk2-api/post/compose", form, headers=headers)

    def timeline(self, kind: str, user_id: int, start: int = 0, stop: int = 10) -> list[dict[str, Any]]:
        query = urllib.parse.urlencode({"user_id": user_id, "start": start, "stop": stop})
        answer = self.get(f"/wrk2-api/{kind}-timeline/read?{query}")
        assert answer.status == 200, answer
        posts: list[dict[str, Any]] = answer.json()
        return posts


@pytest.fixture(scope="module")
def social() -> Iterator[Social]:
    with deployed_app(NS, "nginx-thrift", 8080) as (server, url):
        yield Social(server, url)


def _texts(posts: list[dict[str, Any]]) -> list[str]:
    return [post["text"] for post in posts]


def test_the_seeded_graph_delivers_a_post_to_exactly_the_authors_friends(social: Social) -> None:
    graph = default_graph()
    degrees = graph.degrees()
    author = next(user for user in range(graph.users) if 4 <= degrees[user] <= 8)
    friends = {b if a == author else a for a, b in graph.edges if author in (a, b)}
    stranger = next(user for user in range(graph.users) if user != author and user not in friends)
    answer = social.compose(f"username_{author}", author, f"a post by {author} to its friends")
    assert (answer.status, answer.text) == (200, "Successfully upload post\n"), answer
    for friend in friends:
        (post,) = [p for p in social.timeline("home", friend) if p["text"] == f"a post by {author} to its friends"]
        assert post["creator"] == {"user_id": str(author), "username": f"username_{author}"}
    assert f"a post by {author} to its friends" not in _texts(social.timeline("home", stranger))
    assert _texts(social.timeline("user", author))[0] == f"a post by {author} to its friends"


def test_register_follow_compose_and_read_timelines_end_to_end(social: Social) -> None:
    people = {"alice": 5001, "bob": 5002, "carol": 5003, "dave": 5004}
    for name, user_id in people.items():
        answer = social.register(user_id, name)
        assert (answer.status, answer.text) == (200, "Success!\n"), answer
    again = social.register(5009, "alice")
    assert again.status == 500 and again.text.startswith("User registration failure: User alice already existed")
    # bob follows alice by name, carol by id; dave follows nobody
    assert social.post("/wrk2-api/user/follow", {"user_name": "bob", "followee_name": "alice"}).status == 200
    assert social.post("/wrk2-api/user/follow", {"user_id": "5003", "followee_id": "5001"}).status == 200
    unknown = social.post("/wrk2-api/user/follow", {"user_name": "bob", "followee_name": "nobody"})
    assert unknown.status == 500 and "User: nobody is not registered" in unknown.text, unknown
    incomplete = social.post("/wrk2-api/user/follow", {"user_name": "bob"})
    assert (incomplete.status, incomplete.text) == (400, "Incomplete arguments\n")

    text = "Hello @dave and @nobody, read https://example.com and http://remedlab.io today"
    media = {"media_ids": json.dumps(["123456789012345678"]), "media_types": json.dumps(["png"])}
    answer = social.compose("alice", 5001, text, extra=media)
    assert (answer.status, answer.text) == (200, "Successfully upload post\n"), answer

    (mine,) = social.timeline("user", 5001)
    assert mine["creator"] == {"user_id": "5001", "username": "alice"}
    assert mine["user_mentions"] == [{"user_id": "5004", "username": "dave"}]  # nobody is not registered
    assert [u["expanded_url"] for u in mine["urls"]] == ["https://example.com", "http://remedlab.io"]
    short = [u["shortened_url"] for u in mine["urls"]]
    assert all(url.startswith(SHORT_URL) and len(url) == len(SHORT_URL) + 10 for url in short), short
    assert mine["text"] == f"Hello @dave and @nobody, read {short[0]} and {short[1]} today"
    assert mine["media"] == [{"media_id": "123456789012345678", "media_type": "png"}]
    assert mine["post_id"].isdigit() and mine["timestamp"].isdigit() and mine["post_type"] == 0
    # the followers and the mentioned user see it; the author's home timeline does not hold it
    for reader in ("bob", "carol", "dave"):
        assert social.timeline("home", people[reader]) == [mine], reader
    assert social.timeline("home", 5001) == []

    # newest first, and a slice of the timeline
    assert social.compose("alice", 5001, "second post").status == 200
    assert _texts(social.timeline("user", 5001)) == ["second post", mine["text"]]
    assert _texts(social.timeline("home", 5002, start=1, stop=2)) == [mine["text"]]
    assert social.timeline("home", 5002, start=5, stop=2) == []


def _span(spans: list[dict[str, Any]], service: str, kind: str, needle: str) -> dict[str, Any]:
    found = [s for s in spans if s["service"] == service and s["kind"] == kind and needle in s["operation"]]
    assert found, f"no {kind} span of {service} with {needle!r} in {[(s['service'], s['operation']) for s in spans]}"
    return found[0]


def _parent(spans: list[dict[str, Any]], span: dict[str, Any]) -> dict[str, Any]:
    return next(s for s in spans if s["spanId"] == span["parentSpanId"])


def _seconds(span: dict[str, Any]) -> tuple[float, float]:
    start = datetime.fromisoformat(span["start"].replace("Z", "+00:00")).timestamp()
    return start, start + span["durationMs"] / 1000


def test_a_compose_post_trace_follows_the_originals_services_in_order(social: Social) -> None:
    trace_id, traceparent = new_traceparent()
    answer = social.compose(
        "username_3", 3, "traced @username_4 http://example.com", headers={"traceparent": traceparent}
    )
    assert answer.status == 200, answer
    services = {
        "nginx-thrift",
        "compose-post-service",
        "text-service",
        "url-shorten-service",
        "user-mention-service",
        "user-service",
        "media-service",
        "unique-id-service",
        "post-storage-service",
        "user-timeline-service",
        "home-timeline-service",
        "social-graph-service",
    }
    trace = social.server.wait_for(
        lambda: trace_with_servers(social.server, trace_id, services, 30), timeout=15, what="the compose-post trace"
    )
    spans = trace["spans"]
    assert all(s["status"] != "ERROR" for s in spans), [s for s in spans if s["status"] == "ERROR"]
    front = _span(spans, "nginx-thrift", "SERVER", "/wrk2-api/post/compose")
    compose = _span(spans, "compose-post-service", "SERVER", "ComposePost")
    assert _parent(spans, _parent(spans, compose)) == front

    def served_by(service: str, method: str, caller: dict[str, Any]) -> dict[str, Any]:
        server_span = _span(spans, service, "SERVER", method)
        assert _parent(spans, _parent(spans, server_span)) == caller, (service, method)
        return server_span

    text = served_by("text-service", "ComposeText", compose)
    served_by("url-shorten-service", "ComposeUrls", text)
    served_by("user-mention-service", "ComposeUserMentions", text)
    home = served_by("home-timeline-service", "WriteHomeTimeline", compose)
    served_by("social-graph-service", "GetFollowers", home)
    # compose-post's calls: four at once, then post storage, the user timeline, the home timeline
    calls = sorted(
        (s for s in spans if s["parentSpanId"] == compose["spanId"] and s["kind"] == "CLIENT"), key=lambda s: s["start"]
    )
    callees = [s["attributes"]["peer.service"] for s in calls]
    first = {"text-service", "user-service", "media-service", "unique-id-service"}
    assert set(callees[:4]) == first and callees[4:] == [
        "post-storage-service",
        "user-timeline-service",
        "home-timeline-service",
    ], callees
    ends = [_seconds(s)[1] for s in calls]
    starts = [_seconds(s)[0] for s in calls]
    assert max(ends[:4]) <= starts[4] + 0.001 and ends[4] <= starts[5] + 0.001 and ends[5] <= starts[6] + 0.001
    # each service's own stores, as the original's
    stores = {
        ("post-storage-service", "StorePost"): {"postgresql"},
        ("user-timeline-service", "WriteUserTimeline"): {"postgresql", "redis"},
        ("home-timeline-service", "WriteHomeTimeline"): {"redis"},
        ("url-shorten-service", "ComposeUrls"): {"postgresql"},
        ("user-mention-service", "ComposeUserMentions"): {"memcached"},
    }
    for (service, method), systems in stores.items():
        served = _span(spans, service, "SERVER", method)
        used = {s["attributes"].get("db.system") for s in spans if s["parentSpanId"] == served["spanId"]}
        assert systems <= used, (service, used)

    graph = social.server.ok("GET", f"/v1/topology?namespace={NS}&sinceSeconds=120")
    calls_seen = {(c["from"], c["to"]) for c in graph["calls"]}
    for edge in [
        ("nginx-thrift", "compose-post-service"),
        ("compose-post-service", "post-storage-service"),
        ("post-storage-service", "post-storage-mongodb"),
        ("user-timeline-service", "user-timeline-redis"),
        ("home-timeline-service", "social-graph-service"),
    ]:
        assert edge in calls_seen, (edge, sorted(calls_seen))


def test_every_kind_of_the_mixed_workload_is_answered(social: Social) -> None:
    host, port = social.url.removeprefix("http://").rsplit(":", 1)
    check_mix_answered(host, int(port), NS, rate=20)


# --------------------------------------------------------------------------- faults


def test_cpu_stress_on_home_timeline_slows_reads_until_stopped(social: Social) -> None:
    symptom = Symptom("cpu-stress", "home-timeline-service", "read-home-timeline", "home-timeline-service")
    shows_and_clears(social.server, social.url, NS, symptom)


def test_network_delay_on_the_user_timeline_redis_slows_reads_until_stopped(social: Social) -> None:
    symptom = Symptom(
        "network-delay",
        "user-timeline-redis",
        "read-user-timeline",
        "user-timeline-service",
        overrides=("delay.latency=150ms",),
        min_extra_ms=100.0,
    )
    shows_and_clears(social.server, social.url, NS, symptom)


def _composes(social: Social, ok: bool) -> Answer | None:
    """A compose's answer when it succeeds (``ok``) or fails (not ``ok``), else None."""
    answer = social.compose("username_5", 5, "hi @username_6")
    return answer if (answer.status == 200) == ok else None


def test_aiopslabs_target_port_fault_on_user_service_fails_composes_until_stopped(social: Social) -> None:
    body = {"fault": "k8s-target-port-misconfig", "target": "user-service", "namespace": NS}
    status, chaos = social.server.request("POST", "/v1/chaos", body)
    assert status == 201 and chaos["confirm"]["injected"], chaos
    try:
        # callers' connections from before keep working until their pools retire them (10 s)
        failed = social.server.wait_for(lambda: _composes(social, False), timeout=30, interval=0.5, what="failures")
        assert failed.text.startswith("compost_post failure: user-service: "), failed
    finally:
        social.server.ok("DELETE", f"/v1/chaos/{NS}/{chaos['metadata']['name']}")
    social.server.wait_for(lambda: _composes(social, True), timeout=30, interval=0.5, what="composes working again")


def test_wrong_bin_usage_runs_another_program_of_the_image_until_stopped(social: Social) -> None:
    body = {"fault": "wrong-bin-usage", "target": "user-mention-service", "namespace": NS}
    status, chaos = social.server.request("POST", "/v1/chaos", body)
    assert status == 201 and chaos["spec"]["parameters"] == {"program": "MediaService"}, chaos
    name = chaos["metadata"]["name"]
    try:
        failed = social.server.wait_for(lambda: _composes(social, False), timeout=30, interval=0.3, what="failures")
        assert failed.text.startswith("compost_post failure: ") and "user-mention-service" in failed.text, failed
        deployment = social.server.get("deployments", NS, "user-mention-service")
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        assert container["command"] == ["MediaService"]
    finally:
        social.server.ok("DELETE", f"/v1/chaos/{NS}/{name}")
    social.server.wait_for(lambda: _composes(social, True), timeout=45, interval=0.3, what="composes working again")
