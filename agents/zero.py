"""The zero predictor: y_t = 0 always. Its return error is the ceiling a learner must beat."""
import numpy as np

from rtrlbench.learner_interface import Learner


class ZeroPredictor(Learner):
    """Predicts 0 at every step and never learns."""

    name = "zero"

    def _predict_first(self, x):
        return 0.0

    def _update(self, cumulant, gamma, x):
        return 0.0

    def _run_chunk(self, obs, cumulant, gamma):
        return np.zeros(len(obs))
