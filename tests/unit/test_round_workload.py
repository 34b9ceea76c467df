"""The rounds of a federated learning app as a workload: each round one request, judged by the clients
that took part and the accuracy reached; the exporter's /rounds numbering; Flower's workload file."""

from __future__ import annotations

import time
from typing import Any

import pytest

from remedlab.apps.catalog import get_app
from remedlab.apps.flower.rounds import RoundRecord, RoundSeries
from remedlab.observe.workload.generator import Target
from remedlab.observe.workload.mix import MixError, app_workload_file, load_app_mix
from remedlab.observe.workload.rounds import (
    CLIENT_FAILED,
    CLIENTS_MISSING,
    LOW_ACCURACY,
    OK,
    ROUND,
    RoundsSpec,
    RoundsSpecError,
    RoundWorkload,
    parse_rounds_spec,
)

SPEC = RoundsSpec(service="serverapp", port=9100, clients=2, accuracy_tolerance=0.05, stall_seconds=30)


def record(run: int, number: int, started: float, **changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "event": "round",
        "run_id": run,
        "trace_id": "0" * 32,
        "round": number,
        "started": started,
        "duration_seconds": 2.0,
        "nodes": 2,
        "clients": 2,
        "failures": 0,
        "loss": 1.0,
        "accuracy": 0.5 + 0.1 * number,
        "errors": [],
    }
    values.update(changes)
    return values


def workload(started_at: float) -> RoundWorkload:
    follower = RoundWorkload(Target("127.0.0.1", 9100), SPEC)
    follower.stats.started_at = started_at
    return follower


def test_each_round_is_a_request_judged_by_its_clients_and_accuracy() -> None:
    t0 = time.time() - 30
    follower = workload(t0)
    rounds = [
        record(1, 1, t0 + 1),
        record(1, 2, t0 + 4),
        record(2, 1, t0 + 10, failures=1, clients=1, errors=["shape"]),
        record(2, 2, t0 + 13, clients=1, nodes=1),
        record(3, 1, t0 + 20, accuracy=0.2),
        record(3, 2, t0 + 23),
    ]
    assert follower.take({"last": 6, "rounds": rounds}) == 6
    outcomes = {b: dict(bucket.outcomes) for b, bucket in follower.stats.buckets.items()}
    assert outcomes == {
        1: {OK: 1},
        4: {OK: 1},
        10: {CLIENT_FAILED: 1},
        13: {CLIENTS_MISSING: 1},
        20: {LOW_ACCURACY: 1},
        23: {OK: 1},
    }
    assert follower.reference == {1: 0.6, 2: 0.7}
    # the last round ended at 25 s, 5 s ago: the seconds before it are complete, and the windows read rounds
    assert follower.complete_seconds() == 25
    window = follower.summarize(0, 25)
    assert (window.requests, window.successes) == (6, 3)
    assert window.p50_ms is not None and 1900 <= window.p50_ms <= 2100
    assert set(follower.window_by_kind(60)) == {ROUND}


def test_rounds_seen_again_are_not_counted_twice_and_a_restarted_exporter_is_read_again() -> None:
    t0 = time.time() - 50
    follower = workload(t0)
    assert follower.take({"last": 2, "rounds": [record(1, 1, t0 + 1), record(1, 2, t0 + 4)]}) == 2
    assert follower.take({"last": 3, "rounds": [record(1, 2, t0 + 4), record(1, 3, t0 + 7)]}) == 1
    # an exporter that restarted numbers from 1 again: the next poll asks for everything it has
    assert follower.take({"last": 1, "rounds": []}) == 0
    assert follower.take({"last": 4, "rounds": [record(1, 3, t0 + 7), record(2, 1, t0 + 12)]}) == 1
    assert follower.summarize(0, 50).requests == 4


def test_rounds_from_before_the_workload_only_teach_the_accuracy_level() -> None:
    t0 = time.time() - 20
    follower = workload(t0)
    follower.take({"last": 2, "rounds": [record(1, 1, t0 - 30), record(2, 1, t0 + 2, accuracy=0.5)]})
    assert follower.summarize(0, 20).requests == 1
    assert dict(follower.stats.buckets[2].outcomes) == {LOW_ACCURACY: 1}


def test_training_that_stalls_leaves_complete_seconds_without_rounds() -> None:
    t0 = time.time() - 100
    follower = workload(t0)
    follower.take({"last": 1, "rounds": [record(1, 1, t0 + 1)]})
    # no round ended for 97 s, more than stall_seconds (30): the seconds up to 30 s ago are complete
    assert follower.complete_seconds() in (69, 70, 71)
    assert follower.window(20).requests == 0


def test_the_exporter_serves_the_records_after_a_number() -> None:
    series = RoundSeries()
    records = [RoundRecord.model_validate(record(1, n, 100.0 + n)) for n in range(1, 6)]
    for r in records:
        series.add(r)
    assert series.since(0) == records and series.since(3) == records[3:] and series.since(5) == []


def test_flowers_workload_is_its_rounds_and_is_no_request_mix() -> None:
    app = get_app("flower")
    data = app_workload_file(app)
    assert data is not None
    spec = parse_rounds_spec(data, "flower")
    assert (spec.service, spec.port, spec.clients) == ("serverapp", 9100, 2)
    with pytest.raises(MixError, match="rounds"):
        load_app_mix(app)
    with pytest.raises(RoundsSpecError, match="clients"):
        parse_rounds_spec({"kind": "rounds", "service": "serverapp", "port": 9100}, "a file")
