"""A logistic regression in plain numpy for substrafl's FedAvg strategy, the way substrafl users
write one: a subclass of `substrafl.algorithms.Algo` whose `train` runs on the data organizations
(`@remote_data`), a `predict` that the strategy's evaluation calls there, and a metric function.

substrafl cloudpickles the algorithm and the metric into each function image. This module is
registered to be pickled by value (see `experiment.py`), so the images need nothing of this
repository: only substrafl, substratools and numpy, which substrafl's Dockerfile installs.
"""

from pathlib import Path

import numpy as np
from substrafl.algorithms import Algo
from substrafl.remote import remote_data
from substrafl.strategies.schemas import FedAvgAveragedState, FedAvgSharedState, StrategyName

EPOCHS = 5
LEARNING_RATE = 0.3
N_FEATURES = 30


def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))


class NumpyLogisticRegression(Algo):
    """Full-batch gradient descent; the weights are [coef (30,), intercept (1,)]. Each train sends
    the aggregator its update (new weights minus the ones it started from) and its row count."""

    def __init__(self, epochs: int = EPOCHS, learning_rate: float = LEARNING_RATE):
        super().__init__(epochs=epochs, learning_rate=learning_rate)
        self._epochs = epochs
        self._learning_rate = learning_rate
        self._weights = [np.zeros(N_FEATURES), np.zeros(1)]

    @property
    def model(self):
        return self._weights

    @property
    def strategies(self):
        return [StrategyName.FEDERATED_AVERAGING]

    @remote_data
    def train(self, data_from_opener, shared_state: FedAvgAveragedState = None) -> FedAvgSharedState:
        if shared_state is not None:
            self._weights = [w + u for w, u in zip(self._weights, shared_state.avg_parameters_update, strict=True)]
        start = [w.copy() for w in self._weights]
        x, y = data_from_opener["x"], data_from_opener["y"]
        coef, intercept = start[0].copy(), start[1].copy()
        for _ in range(self._epochs):
            error = _sigmoid(x @ coef + intercept) - y
            coef -= self._learning_rate * (x.T @ error) / len(y)
            intercept -= self._learning_rate * error.mean(keepdims=True)
        self._weights = [coef, intercept]
        return FedAvgSharedState(
            n_samples=len(y), parameters_update=[new - old for new, old in zip(self._weights, start, strict=True)]
        )

    # Not @remote_data: the strategy's own remote `evaluate` calls it on the data organization.
    def predict(self, data_from_opener, shared_state=None):
        coef, intercept = self._weights
        return (data_from_opener["x"] @ coef + intercept) > 0

    def save_local_state(self, path: Path) -> None:
        # substrafl gives a path without extension: a file object keeps numpy from adding `.npz`.
        with open(path, "wb") as f:
            np.savez(f, coef=self._weights[0], intercept=self._weights[1])

    def load_local_state(self, path: Path) -> "NumpyLogisticRegression":
        with np.load(path) as archive:
            self._weights = [archive["coef"], archive["intercept"]]
        return self


def accuracy(data_from_opener, predictions):
    return float(np.mean(predictions == (data_from_opener["y"] > 0.5)))
