"""The ClientApp: trains the global model on this SuperNode's partition of the digits."""

from __future__ import annotations

from flwr.app import ArrayRecord, Context, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp

from digitsfl.task import check_shapes, evaluate, model_config, train, train_partition

app = ClientApp()


@app.train()
def fit(msg: Message, context: Context) -> Message:
    config = model_config()
    params = msg.content["arrays"].to_numpy_ndarrays()
    check_shapes(params, config)
    data = train_partition(int(context.node_config["partition-id"]), int(context.node_config["num-partitions"]))
    run = context.run_config
    updated = train(params, data, int(run["local-epochs"]), float(run["learning-rate"]))
    loss, accuracy = evaluate(updated, data)
    metrics = MetricRecord({"num-examples": len(data.y), "train-loss": loss, "train-accuracy": accuracy})
    return Message(RecordDict({"arrays": ArrayRecord(updated), "metrics": metrics}), reply_to=msg)
