"""What the workload generator measured: per-second buckets of outcomes and latencies.

Latencies go into a log-linear histogram: values under 256 µs have a bucket of their own
(1 µs wide); above that every power of two is split into 128 equal buckets, so a bucket
is at most 1/128 of its lower bound wide and the reported midpoint is within 0.4% of any
value in it. Histograms are sparse, mergeable and serialise to JSON.

A request counts in the bucket of the second (since the run started) it was sent in,
whenever it finishes. Percentiles cover the requests whose outcome is `ok`; the other
outcomes are counted by kind.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = [
    "OUTCOMES",
    "LatencyHistogram",
    "SecondBucket",
    "SecondPoint",
    "Summary",
    "WorkloadStats",
]

OUTCOMES = ("ok", "timeout", "connect_error", "reset", "other")
"""Request outcomes; besides these, `http_<status>` when a status is not among the expected ones."""
SNAPSHOT_VERSION = 1

_LINEAR_BITS = 8
_LINEAR = 1 << _LINEAR_BITS  # values below this (in µs) are stored exactly
_HALF = _LINEAR >> 1  # buckets per power of two above that


def _index(micros: int) -> int:
    if micros < _LINEAR:
        return micros
    shift = micros.bit_length() - _LINEAR_BITS
    return _LINEAR + (shift - 1) * _HALF + ((micros >> shift) - _HALF)


def _bounds(index: int) -> tuple[int, int]:
    """The bucket's lowest value and width, in µs."""
    if index < _LINEAR:
        return index, 1
    shift, offset = divmod(index - _LINEAR, _HALF)
    shift += 1
    return (offset + _HALF) << shift, 1 << shift


class LatencyHistogram:
    """A sparse log-linear latency histogram with 1 µs resolution and < 0.4% relative error."""

    __slots__ = ("_counts", "count", "max_us", "min_us", "sum_us")

    def __init__(self) -> None:
        self._counts: dict[int, int] = {}
        self.count = 0
        self.sum_us = 0
        self.min_us = 0
        self.max_us = 0

    def record(self, seconds: float) -> None:
        self.record_us(max(0, round(seconds * 1e6)))

    def record_us(self, micros: int, times: int = 1) -> None:
        index = _index(micros)
        self._counts[index] = self._counts.get(index, 0) + times
        if self.count == 0:
            self.min_us = self.max_us = micros
        else:
            self.min_us = min(self.min_us, micros)
            self.max_us = max(self.max_us, micros)
        self.count += times
        self.sum_us += micros * times

    def merge(self, other: LatencyHistogram) -> None:
        if other.count == 0:
            return
        for index, n in other._counts.items():
            self._counts[index] = self._counts.get(index, 0) + n
        if self.count == 0:
            self.min_us, self.max_us = other.min_us, other.max_us
        else:
            self.min_us = min(self.min_us, other.min_us)
            self.max_us = max(self.max_us, other.max_us)
        self.count += other.count
        self.sum_us += other.sum_us

    def percentile_us(self, q: float) -> float | None:
        """The nearest-rank q-th percentile (0 < q <= 100); None when empty."""
        if not 0 < q <= 100:
            raise ValueError(f"percentile {q} is not in (0, 100]")
        if self.count == 0:
            return None
        rank = max(1, math.ceil(q * self.count / 100))
        seen = 0
        for index in sorted(self._counts):
            seen += self._counts[index]
            if seen >= rank:
                low, width = _bounds(index)
                middle = low if width == 1 else low + width / 2
                return float(min(max(middle, self.min_us), self.max_us))
        return float(self.max_us)

    def count_above_us(self, micros: float) -> int:
        """How many recorded values exceed ``micros`` (a value is taken as its bucket's middle)."""
        above = 0
        for index, n in self._counts.items():
            low, width = _bounds(index)
            if (low if width == 1 else low + width / 2) > micros:
                above += n
        return above

    def percentile_ms(self, q: float) -> float | None:
        value = self.percentile_us(q)
        return None if value is None else value / 1000

    @property
    def mean_ms(self) -> float | None:
        return self.sum_us / self.count / 1000 if self.count else None

    @property
    def max_ms(self) -> float | None:
        return self.max_us / 1000 if self.count else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "unit": "us",
            "count": self.count,
            "sum": self.sum_us,
            "min": self.min_us,
            "max": self.max_us,
            "buckets": [[index, self._counts[index]] for index in sorted(self._counts)],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LatencyHistogram:
        histogram = cls()
        for index, n in data.get("buckets", []):
            histogram._counts[int(index)] = int(n)
        histogram.count = int(data.get("count", sum(histogram._counts.values())))
        histogram.sum_us = int(data.get("sum", 0))
        histogram.min_us = int(data.get("min", 0))
        histogram.max_us = int(data.get("max", 0))
        return histogram

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LatencyHistogram) and self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]


@dataclass
class SecondBucket:
    """Everything sent during one second of a run."""

    second: int
    sent: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    latency: LatencyHistogram = field(default_factory=LatencyHistogram)
    max_lag_us: int = 0

    @property
    def finished(self) -> int:
        return sum(self.outcomes.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "second": self.second,
            "sent": self.sent,
            "outcomes": dict(sorted(self.outcomes.items())),
            "latency": self.latency.to_dict(),
            "max_lag_us": self.max_lag_us,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SecondBucket:
        return cls(
            second=int(data["second"]),
            sent=int(data.get("sent", 0)),
            outcomes=Counter({str(k): int(v) for k, v in data.get("outcomes", {}).items()}),
            latency=LatencyHistogram.from_dict(data.get("latency", {})),
            max_lag_us=int(data.get("max_lag_us", 0)),
        )


@dataclass(frozen=True)
class Summary:
    """The requests sent in seconds [from_t, to_t) of a run.

    `requests` counts those that finished, `in_flight` those still waiting (or abandoned
    by a stop without draining). `success_rate` is successes / requests (0.0 when no
    request finished). Latencies (ms) cover successful requests; None when there were none.
    `sent_rps` and `throughput_rps` are sent and finished requests per second.
    `max_lag_ms` is how late the generator sent its most delayed request.
    """

    from_t: float
    to_t: float
    duration_s: float
    sent: int
    requests: int
    in_flight: int
    successes: int
    success_rate: float
    sent_rps: float
    throughput_rps: float
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    mean_ms: float | None
    max_ms: float | None
    max_lag_ms: float
    errors: dict[str, int]

    @property
    def error_count(self) -> int:
        return self.requests - self.successes

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Summary:
        return cls(**{key: data[key] for key in cls.__dataclass_fields__})


@dataclass(frozen=True)
class SecondPoint:
    """One second of a run as a chart shows it: its Unix time, the requests sent then that finished,
    their success rate (None when none finished) and the p50 and p95 latency of the successful ones."""

    t: float
    requests: int
    success_rate: float | None
    p50_ms: float | None
    p95_ms: float | None


def summarize_buckets(buckets: Iterable[SecondBucket], from_t: float, to_t: float) -> Summary:
    sent = 0
    outcomes: Counter[str] = Counter()
    latency = LatencyHistogram()
    max_lag_us = 0
    for bucket in buckets:
        sent += bucket.sent
        outcomes.update(bucket.outcomes)
        latency.merge(bucket.latency)
        max_lag_us = max(max_lag_us, bucket.max_lag_us)
    duration = max(0.0, to_t - from_t)
    requests = sum(outcomes.values())
    successes = outcomes.get("ok", 0)
    return Summary(
        from_t=from_t,
        to_t=to_t,
        duration_s=duration,
        sent=sent,
        requests=requests,
        in_flight=sent - requests,
        successes=successes,
        success_rate=successes / requests if requests else 0.0,
        sent_rps=sent / duration if duration else 0.0,
        throughput_rps=requests / duration if duration else 0.0,
        p50_ms=latency.percentile_ms(50),
        p95_ms=latency.percentile_ms(95),
        p99_ms=latency.percentile_ms(99),
        mean_ms=latency.mean_ms,
        max_ms=latency.max_ms,
        max_lag_ms=max_lag_us / 1000,
        errors={k: v for k, v in sorted(outcomes.items()) if k != "ok"},
    )


class WorkloadStats:
    """Per-second buckets of one run; times are seconds since the run started.

    Requests recorded with a ``kind`` (the mix's request name) are also counted
    in ``kinds[kind]``, so each kind of request can be summarised on its own.
    """

    def __init__(self, started_at: float = 0.0) -> None:
        self.started_at = started_at  # Unix time of second 0
        self.buckets: dict[int, SecondBucket] = {}
        self.kinds: dict[str, WorkloadStats] = {}

    def _kind(self, kind: str) -> WorkloadStats:
        stats = self.kinds.get(kind)
        if stats is None:
            stats = self.kinds[kind] = WorkloadStats(self.started_at)
        return stats

    def _bucket(self, offset: float) -> SecondBucket:
        second = max(0, math.floor(offset))
        bucket = self.buckets.get(second)
        if bucket is None:
            bucket = self.buckets[second] = SecondBucket(second)
        return bucket

    def record_sent(self, offset: float, lag: float = 0.0, kind: str | None = None) -> None:
        bucket = self._bucket(offset)
        bucket.sent += 1
        bucket.max_lag_us = max(bucket.max_lag_us, round(lag * 1e6))
        if kind is not None:
            self._kind(kind).record_sent(offset, lag)

    def record_result(self, offset: float, latency: float, outcome: str, kind: str | None = None) -> None:
        bucket = self._bucket(offset)
        bucket.outcomes[outcome] += 1
        if outcome == "ok":
            bucket.latency.record(latency)
        if kind is not None:
            self._kind(kind).record_result(offset, latency, outcome)

    @property
    def seconds(self) -> int:
        """How many seconds have a bucket (the last second with a request, plus one)."""
        return max(self.buckets) + 1 if self.buckets else 0

    def summarize(self, from_t: float, to_t: float) -> Summary:
        """The requests sent in whole seconds s with from_t <= s < to_t."""
        first, end = math.ceil(from_t), math.ceil(to_t)
        chosen = [b for s, b in self.buckets.items() if first <= s < end]
        return summarize_buckets(chosen, float(first), float(max(first, end)))

    def total(self) -> Summary:
        return self.summarize(0, self.seconds)

    def settled_outcomes(self, from_t: int, to_t: int, slow_ms: float | None) -> tuple[int, int]:
        """(good, bad) requests sent in seconds [from_t, to_t), counting only the leading seconds whose
        every request has finished: a request still waiting might yet fail. Bad is a failure, or a
        success slower than ``slow_ms`` (when given)."""
        good = bad = 0
        for second in range(from_t, to_t):
            bucket = self.buckets.get(second)
            if bucket is None:
                continue
            if bucket.finished < bucket.sent:
                break
            ok = bucket.outcomes.get("ok", 0)
            slow = bucket.latency.count_above_us(slow_ms * 1000) if slow_ms is not None else 0
            good += ok - slow
            bad += bucket.finished - ok + slow
        return good, bad

    def summarize_kinds(self, from_t: float, to_t: float) -> dict[str, Summary]:
        """Each kind of request's summary over the same seconds as :meth:`summarize`."""
        return {kind: stats.summarize(from_t, to_t) for kind, stats in sorted(self.kinds.items())}

    def per_second(self) -> list[Summary]:
        return [self.summarize(s, s + 1) for s in range(self.seconds)]

    def series(self, since: float, until: float) -> list[SecondPoint]:
        """Each second with a request between the Unix times ``since`` and ``until``: what users saw."""
        first = max(0, math.floor(since - self.started_at))
        end = math.ceil(until - self.started_at)
        points = []
        for second in range(first, end):
            bucket = self.buckets.get(second)
            if bucket is None:
                continue
            ok = bucket.outcomes.get("ok", 0)
            points.append(
                SecondPoint(
                    t=round(self.started_at + second, 3),
                    requests=bucket.finished,
                    success_rate=ok / bucket.finished if bucket.finished else None,
                    p50_ms=bucket.latency.percentile_ms(50),
                    p95_ms=bucket.latency.percentile_ms(95),
                )
            )
        return points

    def merge(self, other: WorkloadStats) -> None:
        """Add another run's buckets second by second (for runs that started together)."""
        for second, theirs in other.buckets.items():
            mine = self._bucket(second)
            mine.sent += theirs.sent
            mine.outcomes.update(theirs.outcomes)
            mine.latency.merge(theirs.latency)
            mine.max_lag_us = max(mine.max_lag_us, theirs.max_lag_us)
        for kind, stats in other.kinds.items():
            self._kind(kind).merge(stats)

    def snapshot(self) -> dict[str, Any]:
        return {
            "version": SNAPSHOT_VERSION,
            "started_at": self.started_at,
            "buckets": [self.buckets[s].to_dict() for s in sorted(self.buckets)],
            "kinds": {
                kind: [stats.buckets[s].to_dict() for s in sorted(stats.buckets)]
                for kind, stats in sorted(self.kinds.items())
            },
        }

    @classmethod
    def from_snapshot(cls, data: Mapping[str, Any]) -> WorkloadStats:
        if data.get("version") != SNAPSHOT_VERSION:
            raise ValueError(f"unsupported workload snapshot version {data.get('version')!r}")
        stats = cls(started_at=float(data.get("started_at", 0.0)))
        for raw in data.get("buckets", []):
            bucket = SecondBucket.from_dict(raw)
            stats.buckets[bucket.second] = bucket
        for kind, raws in (data.get("kinds") or {}).items():
            sub = stats._kind(str(kind))
            for raw in raws:
                bucket = SecondBucket.from_dict(raw)
                sub.buckets[bucket.second] = bucket
        return stats
