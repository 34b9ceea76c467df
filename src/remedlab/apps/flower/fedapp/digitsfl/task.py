"""The model and the data: a softmax regression (one linear layer, 64 inputs -> 10 classes) trained by
gradient descent in NumPy on scikit-learn's bundled digits data set, which needs no download.

The model's layer sizes are its configuration: ``MODEL_INPUT_SIZE`` in the ClientApp's environment sets
the input size the ClientApp builds its layer with (64 by default, the digits' 8x8 pixels). Parameters
received from the ServerApp must have the shapes of the ClientApp's own model, else training stops with
a shape error."""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

NUM_CLASSES = 10
SEED = 42
TEST_FRACTION = 0.25

Arrays = list[NDArray[np.float64]]


@dataclass(frozen=True)
class Split:
    x: NDArray[np.float64]
    y: NDArray[np.int64]


@dataclass(frozen=True)
class ModelConfig:
    input_size: int
    num_classes: int = NUM_CLASSES

    def shapes(self) -> list[tuple[int, ...]]:
        return [(self.input_size, self.num_classes), (self.num_classes,)]


def model_config() -> ModelConfig:
    return ModelConfig(input_size=int(os.environ.get("MODEL_INPUT_SIZE", "64")))


def digits_file() -> Path:
    """scikit-learn's bundled copy of the digits (what ``load_digits`` reads), found without importing
    scikit-learn: a ClientApp process starts every round, and the import would cost it a second."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("scikit-learn is not installed: the digits come with it")
    return Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data" / "digits.csv.gz"


def _shuffled() -> tuple[Split, Split]:
    table = np.loadtxt(digits_file(), delimiter=",")
    x = table[:, :-1] / 16.0
    y = table[:, -1].astype(np.int64)
    order = np.random.default_rng(SEED).permutation(len(y))
    x, y = x[order], y[order]
    cut = int(len(y) * (1 - TEST_FRACTION))
    return Split(x[:cut], y[:cut]), Split(x[cut:], y[cut:])


def train_partition(partition_id: int, num_partitions: int) -> Split:
    """This node's share of the training set: every ``num_partitions``-th example from ``partition_id``."""
    train, _ = _shuffled()
    return Split(train.x[partition_id::num_partitions], train.y[partition_id::num_partitions])


def test_set() -> Split:
    return _shuffled()[1]


def initial_parameters(config: ModelConfig) -> Arrays:
    return [np.zeros(shape, dtype=np.float64) for shape in config.shapes()]


def check_shapes(params: Arrays, config: ModelConfig) -> None:
    got = [tuple(p.shape) for p in params]
    if got != config.shapes():
        raise ValueError(f"parameter shape mismatch: received {got}, the model's layers are {config.shapes()}")


def _probabilities(params: Arrays, x: NDArray[np.float64]) -> NDArray[np.float64]:
    weights, bias = params
    logits = x @ weights + bias
    logits -= logits.max(axis=1, keepdims=True)
    exp = np.exp(logits)
    result: NDArray[np.float64] = exp / exp.sum(axis=1, keepdims=True)
    return result


def evaluate(params: Arrays, data: Split) -> tuple[float, float]:
    """(loss, accuracy) of the model on ``data``."""
    probs = _probabilities(params, data.x)
    loss = float(-np.mean(np.log(probs[np.arange(len(data.y)), data.y] + 1e-12)))
    accuracy = float(np.mean(probs.argmax(axis=1) == data.y))
    return loss, accuracy


def train(params: Arrays, data: Split, epochs: int, learning_rate: float) -> Arrays:
    """Full-batch gradient descent on the cross-entropy loss, ``epochs`` steps."""
    weights, bias = (p.copy() for p in params)
    onehot = np.eye(NUM_CLASSES)[data.y]
    for _ in range(epochs):
        probs = _probabilities([weights, bias], data.x)
        grad = (probs - onehot) / len(data.y)
        weights -= learning_rate * (data.x.T @ grad)
        bias -= learning_rate * grad.sum(axis=0)
    return [weights, bias]
