"""The controllers' work queue: de-duplicated, one worker per key, delays, back-off, shutdown, other threads."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from remedlab.cluster.controllers.workqueue import ExponentialBackoff, WorkQueue


def test_a_key_waits_once_however_often_it_is_added() -> None:
    async def scenario() -> None:
        queue: WorkQueue[str] = WorkQueue("test")
        for key in ("a", "b", "a", "a", "c", "b"):
            queue.add(key)
        assert len(queue) == 3
        assert [await queue.get() for _ in range(3)] == ["a", "b", "c"]

    asyncio.run(scenario())


def test_a_key_added_while_processed_is_handed_out_again_only_after_done() -> None:
    async def scenario() -> None:
        queue: WorkQueue[str] = WorkQueue("test")
        queue.add("a")
        assert await queue.get() == "a"
        queue.add("a")
        queue.add("a")
        assert len(queue) == 0  # not handed to a second worker while the first holds it
        queue.done("a")
        assert len(queue) == 1
        assert await queue.get() == "a"
        queue.done("a")
        assert len(queue) == 0

    asyncio.run(scenario())


def test_two_workers_never_hold_the_same_key() -> None:
    async def scenario() -> None:
        queue: WorkQueue[int] = WorkQueue("test")
        held: set[int] = set()
        overlaps: list[int] = []
        processed: list[int] = []

        async def worker() -> None:
            while (key := await queue.get()) is not None:
                if key in held:
                    overlaps.append(key)
                held.add(key)
                await asyncio.sleep(0.001)
                processed.append(key)
                held.discard(key)
                queue.done(key)

        workers = [asyncio.create_task(worker()) for _ in range(4)]
        for round_ in range(50):
            queue.add(round_ % 3)
            await asyncio.sleep(0.0005 if round_ % 2 else 0)
        while len(queue) or held:
            await asyncio.sleep(0.005)
        queue.shutdown()
        await asyncio.gather(*workers)
        assert overlaps == []
        assert set(processed) == {0, 1, 2}

    asyncio.run(scenario())


def test_add_after_adds_once_the_delay_passed_and_the_earliest_delay_wins() -> None:
    async def scenario() -> None:
        queue: WorkQueue[str] = WorkQueue("test")
        started = time.monotonic()
        queue.add_after("late", 0.2)
        queue.add_after("late", 5.0)  # a later delay does not push it back
        queue.add_after("soon", 5.0)
        queue.add_after("soon", 0.05)  # an earlier one brings it forward
        queue.add_after("now", 0)
        assert len(queue) == 1 and queue.delayed() == 2
        assert await queue.get() == "now"
        assert await queue.get() == "soon"
        assert 0.04 <= time.monotonic() - started < 1.0
        assert await queue.get() == "late"
        assert 0.19 <= time.monotonic() - started < 1.0
        assert queue.delayed() == 0

    asyncio.run(scenario())


def test_rate_limited_retries_back_off_exponentially_until_forgotten() -> None:
    backoff: ExponentialBackoff[str] = ExponentialBackoff(base=0.005, cap=60.0)
    delays = [backoff.when("a") for _ in range(6)]
    assert delays == pytest.approx([0.005, 0.01, 0.02, 0.04, 0.08, 0.16])
    assert backoff.when("b") == pytest.approx(0.005)  # per key
    for _ in range(30):
        backoff.when("a")
    assert backoff.when("a") == 60.0
    backoff.forget("a")
    assert backoff.failures("a") == 0 and backoff.when("a") == pytest.approx(0.005)

    async def scenario() -> None:
        queue: WorkQueue[str] = WorkQueue("test")
        started = time.monotonic()
        for _ in range(4):  # 5 + 10 + 20 + 40 ms
            queue.add_rate_limited("k")
            assert await queue.get() == "k"
            queue.done("k")
        assert time.monotonic() - started >= 0.07
        assert queue.retries("k") == 4
        queue.forget("k")
        assert queue.retries("k") == 0

    asyncio.run(scenario())


def test_shutdown_wakes_waiting_workers_ignores_adds_and_drains_what_waited() -> None:
    async def scenario() -> None:
        queue: WorkQueue[str] = WorkQueue("test")
        waiting = asyncio.create_task(queue.get())
        await asyncio.sleep(0)
        queue.shutdown()
        assert await waiting is None

        queue = WorkQueue("test")
        queue.add("a")
        queue.add_after("later", 0.01)
        queue.shutdown()
        queue.add("b")
        assert queue.shutting_down and queue.delayed() == 0
        assert await queue.get() == "a"
        assert await queue.get() is None

    asyncio.run(scenario())


def test_keys_added_from_other_threads_reach_the_loop() -> None:
    async def scenario() -> None:
        queue: WorkQueue[int] = WorkQueue("test")
        assert await asyncio.wait_for(_first(queue), 1) is None  # binds the queue to this loop

        def add_many() -> None:
            for i in range(100):
                queue.add(i)
            queue.add_after(1000, 0.01)

        threads = [threading.Thread(target=add_many) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        seen: set[int] = set()
        while len(seen) < 101:
            key = await asyncio.wait_for(queue.get(), 2)
            assert key is not None
            seen.add(key)
            queue.done(key)
        assert seen == {*range(100), 1000}

    asyncio.run(scenario())


async def _first(queue: WorkQueue[int]) -> int | None:
    """Bind the queue to the running loop without taking anything from it."""
    try:
        return await asyncio.wait_for(queue.get(), 0.01)
    except TimeoutError:
        return None
