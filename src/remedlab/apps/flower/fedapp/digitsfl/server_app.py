"""The ServerApp: federated averaging (FedAvg) over the connected SuperNodes, round by round.

Each round sends the global model to every node, averages the replies weighted by their number of
examples and evaluates the result on the held-out test set. A node whose ClientApp fails (an error
reply) or does not answer within ``round-timeout`` seconds is left out of that round; a message lives
as long as its round, so a node that was away (its ClientApp's pod replaced) does not work through
stale rounds when it is back. Each round ends with one JSON line on stdout, ``{"event": "round", ...}``,
and the same line appended to the file ``ROUND_LOG`` names, where the pod's exporter reads it."""

from __future__ import annotations

import json
import os
import time
import uuid

import numpy as np
from flwr.app import ArrayRecord, ConfigRecord, Context, Message, RecordDict
from flwr.serverapp import Grid, ServerApp

from digitsfl.task import Arrays, ModelConfig, evaluate, initial_parameters, test_set

app = ServerApp()


def _average(replies: list[tuple[Arrays, int]]) -> Arrays:
    total = sum(n for _, n in replies)
    return [sum(p[i] * (n / total) for p, n in replies) for i in range(len(replies[0][0]))]  # type: ignore[misc]


def _report(record: dict[str, object]) -> None:
    line = json.dumps(record, sort_keys=True)
    print(line, flush=True)
    path = os.environ.get("ROUND_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as out:
            out.write(line + "\n")


@app.main()
def main(grid: Grid, context: Context) -> None:
    run = context.run_config
    rounds = int(run["num-server-rounds"])
    timeout = float(run["round-timeout"])
    params = initial_parameters(ModelConfig(input_size=64))
    test = test_set()
    trace_id = uuid.uuid4().hex
    for server_round in range(1, rounds + 1):
        started = time.time()
        nodes = list(grid.get_node_ids())
        config = ConfigRecord({"server-round": server_round})
        messages = [
            Message(
                RecordDict({"arrays": ArrayRecord(params), "config": config}),
                dst_node_id=node,
                message_type="train",
                group_id=str(server_round),
                ttl=timeout,  # of no use once the round is over: a node that was away skips it
            )
            for node in nodes
        ]
        replies = list(grid.send_and_receive(messages, timeout=timeout)) if messages else []
        results: list[tuple[Arrays, int]] = []
        errors: list[str] = []
        for reply in replies:
            if reply.has_error():
                errors.append(reply.error.reason)
                print(
                    f"round {server_round}: node {reply.metadata.src_node_id} failed: {reply.error.reason}", flush=True
                )
                continue
            arrays = reply.content["arrays"].to_numpy_ndarrays()
            results.append((arrays, int(reply.content["metrics"]["num-examples"])))
        if results:
            params = _average(results)
        loss, accuracy = evaluate(params, test)
        failures = len(nodes) - len(results)
        _report(
            {
                "event": "round",
                "run_id": context.run_id,
                "trace_id": trace_id,
                "round": server_round,
                "started": started,
                "duration_seconds": round(time.time() - started, 4),
                "nodes": len(nodes),
                "clients": len(results),
                "failures": failures,
                "loss": round(loss, 6),
                "accuracy": round(accuracy, 6),
                "errors": errors[:3],
            }
        )
        if failures:
            print(f"round {server_round}: {failures} of {len(nodes)} nodes failed", flush=True)
    print(f"run {context.run_id} done: accuracy {float(np.round(accuracy, 4))}", flush=True)
