"""A CPU and memory stressor for hosts without stress-ng: `python -m remedlab.cluster.node.stressor`.

CPU workers spin for `load` percent of every 100 ms slice; memory workers
allocate their share of `--vm-bytes`, touch every page and hold it.
"""

from __future__ import annotations

import argparse
import multiprocessing
import signal
import sys
import time

PAGE = 4096
SLICE_S = 0.1


def _cpu_worker(load: int) -> None:
    busy = SLICE_S * load / 100
    while True:
        started = time.monotonic()
        while time.monotonic() - started < busy:
            pass
        rest = SLICE_S - (time.monotonic() - started)
        if rest > 0:
            time.sleep(rest)


def _memory_worker(size: int) -> None:
    block = bytearray(size)
    for offset in range(0, size, PAGE):
        block[offset] = 1
    while True:
        time.sleep(3600)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="remedlab-stressor")
    parser.add_argument("--cpu", type=int, default=0, help="CPU workers")
    parser.add_argument("--cpu-load", type=int, default=100, help="percent busy per worker")
    parser.add_argument("--vm", type=int, default=0, help="memory workers")
    parser.add_argument("--vm-bytes", type=int, default=0, help="bytes to hold, split between the memory workers")
    args = parser.parse_args(argv)
    workers: list[multiprocessing.Process] = []
    for _ in range(args.cpu):
        workers.append(multiprocessing.Process(target=_cpu_worker, args=(max(0, min(100, args.cpu_load)),)))
    for _ in range(args.vm):
        workers.append(multiprocessing.Process(target=_memory_worker, args=(args.vm_bytes // max(1, args.vm),)))
    for worker in workers:
        worker.start()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        while True:
            time.sleep(3600)
    finally:
        for worker in workers:
            worker.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
