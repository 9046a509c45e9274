"""Opener of the breast-cancer data samples: each sample is a folder with `x.npy` (features, already
standardized) and `y.npy` (labels, 0 or 1)."""

import os

import numpy as np
import substratools as tools

N_FEATURES = 30


class BreastCancerOpener(tools.Opener):
    def get_data(self, folders):
        """All the folders' rows, concatenated: {"x": float array (n, 30), "y": float array (n,)}."""
        xs = [np.load(os.path.join(folder, "x.npy")) for folder in folders]
        ys = [np.load(os.path.join(folder, "y.npy")) for folder in folders]
        return {"x": np.concatenate(xs).astype(float), "y": np.concatenate(ys).astype(float)}

    def fake_data(self, n_samples=None):
        n_samples = 10 if n_samples is None else n_samples
        rng = np.random.default_rng(0)
        return {"x": rng.normal(size=(n_samples, N_FEATURES)), "y": rng.integers(0, 2, size=n_samples).astype(float)}
