"""Federated averaging of a logistic regression, in plain numpy, as three Substra functions.

A model is a numpy `.npz` file holding `coef` (30 floats), `intercept` (1 float) and `n_samples`
(the number of training rows behind it, used to weight the average).

- `train`: a few epochs of full-batch gradient descent on the log loss, from the shared model
  (zeros when there is none yet), on the task's data samples;
- `aggregate`: the average of the local models weighted by their number of training rows;
- `evaluate`: the accuracy of the shared model on the task's data samples.

`FEDAVG_TRAIN_PAUSE_SECONDS` (an image's ENV, 0 by default) makes each `train` last that much
longer: the fault-injection suite needs a task to be running when it strikes.
"""

import os
import time

import numpy as np
import substratools as tools

EPOCHS = 5
LEARNING_RATE = 0.3


def zeros(n_features):
    return {"coef": np.zeros(n_features), "intercept": np.zeros(1), "n_samples": np.zeros(1)}


def save_model(model, path):
    # substratools gives a path without extension: a file object keeps numpy from adding `.npz`.
    with open(path, "wb") as f:
        np.savez(f, coef=model["coef"], intercept=model["intercept"], n_samples=model["n_samples"])


def load_model(path):
    with np.load(path) as archive:
        return {name: archive[name] for name in ("coef", "intercept", "n_samples")}


def sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def fit(model, x, y, epochs=EPOCHS, learning_rate=LEARNING_RATE):
    """`epochs` steps of gradient descent on the mean log loss over all of (x, y), from `model`."""
    coef, intercept = model["coef"].copy(), model["intercept"].copy()
    for _ in range(epochs):
        error = sigmoid(x @ coef + intercept) - y
        coef -= learning_rate * (x.T @ error) / len(y)
        intercept -= learning_rate * error.mean(keepdims=True)
    return {"coef": coef, "intercept": intercept, "n_samples": np.array([float(len(y))])}


def average(models):
    weights = np.array([m["n_samples"][0] for m in models])
    if weights.sum() <= 0:
        weights = np.ones(len(models))
    weights = weights / weights.sum()
    return {
        "coef": sum(w * m["coef"] for w, m in zip(weights, models, strict=True)),
        "intercept": sum(w * m["intercept"] for w, m in zip(weights, models, strict=True)),
        "n_samples": np.array([sum(m["n_samples"][0] for m in models)]),
    }


def accuracy(model, x, y):
    predicted = (x @ model["coef"] + model["intercept"]) > 0
    return float(np.mean(predicted == (y > 0.5)))


@tools.register
def train(inputs, outputs, task_properties):
    time.sleep(float(os.environ.get("FEDAVG_TRAIN_PAUSE_SECONDS", "0")))
    data = inputs["datasamples"]
    shared = inputs.get("shared")
    start = load_model(shared) if shared else zeros(data["x"].shape[1])
    save_model(fit(start, data["x"], data["y"]), outputs["local"])


@tools.register
def aggregate(inputs, outputs, task_properties):
    save_model(average([load_model(path) for path in inputs["models"]]), outputs["shared"])


@tools.register
def evaluate(inputs, outputs, task_properties):
    data = inputs["datasamples"]
    tools.save_performance(accuracy(load_model(inputs["shared"]), data["x"], data["y"]), outputs["performance"])


if __name__ == "__main__":
    tools.execute()
