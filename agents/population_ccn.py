"""Populations of column networks: R runs of one columnar, constructive or CCN shape (each with
its own seed, step size alpha, lambda and normaliser parameters, each reading its own stream)
learned together by one compiled call per chunk (:mod:`rtrlbench.agents.population_ccn_kernels`).

A population is built from R single-run learners (:class:`~rtrlbench.agents.ccn.ColumnNetworkLearner`
of the same class and shape), so that initial weights, hyperparameter checks and defaults are
theirs; every array of their :class:`~rtrlbench.agents.ccn.ColumnNetworkState` is stacked on a
new last axis (the run, innermost and contiguous). Run r's predictions are bit-identical to
those of its single-run learner on the same stream: the population kernel does each run's
arithmetic in the single-run kernel's order. :meth:`learner` gives run r back as a single-run
learner in its present state.

Shared by all runs (the *shape*, :data:`SHAPE_KEYS`): the class, n_features,
features_per_stage, steps_per_stage, optimizer, norm_floor, output_step_size,
normalisation_gradient. Per run (:mod:`rtrlbench.agents.population_registry`): alpha, lam, norm_beta,
norm_eps and init_scale (which only shapes the initial weights).

Divergence: the runs share no arithmetic, so a run whose numbers blow up (NaN or inf) only
fills its own column of the arrays; :meth:`run_chunk` returns its predictions as they are and
:attr:`diverged` marks it (and the step at which it first gave a non-finite prediction in
:attr:`diverged_at`), while the other runs go on exactly as they would alone.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from rtrlbench.agents import population_ccn_kernels as kernels
from rtrlbench.agents.ccn import RMSPROP_BETA2, RMSPROP_EPS, ColumnNetworkLearner, ColumnNetworkState
from rtrlbench.learner_interface import _check_transition

#: Hyperparameters every run of a population shares (they fix the arrays' shapes or the code path).
SHAPE_KEYS = ("n_features", "features_per_stage", "steps_per_stage", "optimizer", "norm_floor", "output_step_size",
              "normalisation_gradient")


class ColumnNetworkPopulation:
    """R column networks of one shape, learned together.

    Args:
        learners: the R single-run learners (same class, shape and ``n_inputs``; fresh or part
            way through a run, but all at the same step); their state is copied, they are not changed.
    """

    def __init__(self, learners: Sequence[ColumnNetworkLearner]) -> None:
        learners = list(learners)
        if not learners:
            raise ValueError("a population needs at least one learner")
        first = learners[0]
        for other in learners[1:]:
            _check_same_shape(first, other)
        self.learner_class, self.n_inputs, self.n_runs = type(first), first.n_inputs, len(learners)
        self.seeds = [l.seed for l in learners]
        self._hyperparameters = [l.hyperparameters() for l in learners]
        self._config, self._stage_offsets = first._config, first._stage_offsets
        self.arrays = ColumnNetworkState(*(np.ascontiguousarray(np.stack(fields, axis=-1))
                                           for fields in zip(*(l._arrays for l in learners))))
        self.settings = kernels.PopulationSettings(*(np.array([l.hyperparameters()[key] for l in learners], dtype=float)
                                                     for key in kernels.PopulationSettings._fields))
        self._scratch = kernels.new_scratch(self.n_runs)
        self.started = first.started
        self.diverged = np.zeros(self.n_runs, dtype=bool)
        self.diverged_at = np.full(self.n_runs, -1, dtype=np.int64)

    @classmethod
    def build(cls, learner_class: type[ColumnNetworkLearner], n_inputs: int, seeds: Sequence[int],
              hyperparameters: Sequence[dict[str, Any]]) -> "ColumnNetworkPopulation":
        """Fresh runs: ``learner_class(n_inputs, seed=seeds[r], **hyperparameters[r])`` for each r."""
        if len(seeds) != len(hyperparameters):
            raise ValueError(f"got {len(seeds)} seeds for {len(hyperparameters)} hyperparameter sets; give one each")
        return cls([learner_class(n_inputs, seed=s, **hp) for s, hp in zip(seeds, hyperparameters)])

    # ------------------------------------------------------------------ runs
    @property
    def steps_done(self) -> int:
        return int(self.arrays.counters[kernels.STEPS_DONE, 0])

    def hyperparameters(self, run: int) -> dict[str, Any]:
        """Run ``run``'s hyperparameters, as its single-run learner reports them."""
        return dict(self._hyperparameters[run])

    def learner(self, run: int) -> ColumnNetworkLearner:
        """Run ``run`` as a single-run learner in its present state (a copy; it continues exactly as
        the run would). Its ``prediction_gradient()`` is stale until its next step: the population
        fuses d y / dp into the trace pass and does not keep it."""
        single = self.learner_class(self.n_inputs, seed=self.seeds[run], **self._hyperparameters[run])
        for mine, theirs in zip(self.arrays, single._arrays):
            theirs[...] = mine[..., run]
        single.started = self.started
        return single

    def run_chunk(self, obs: np.ndarray, cumulant: np.ndarray, gamma: np.ndarray,
                  stream_of: Sequence[int] | None = None) -> np.ndarray:
        """Predictions float64[R, T] for a chunk of T steps of each stream.

        obs: float32 or float64[n_streams, T, n_inputs]; cumulant, gamma: float64[n_streams, T];
        stream_of: int[R], the stream each run reads (default: run r reads stream r). Runs that
        read the same stream (e.g. several step sizes on one seed) share its chunk.
        """
        obs = np.ascontiguousarray(obs)
        if obs.dtype not in (np.float32, np.float64):
            obs = obs.astype(np.float64)
        cumulant = np.ascontiguousarray(cumulant, dtype=np.float64)
        gamma = np.ascontiguousarray(gamma, dtype=np.float64)
        stream_of = np.arange(self.n_runs) if stream_of is None else np.asarray(stream_of, dtype=np.int64)
        self._check_chunk(obs, cumulant, gamma, stream_of)
        predictions = np.empty((self.n_runs, obs.shape[1]))
        if obs.shape[1] == 0:
            return predictions
        start = self.steps_done
        kernels.run_kernel(obs, cumulant, gamma, np.ascontiguousarray(stream_of), predictions, not self.started, self._config,
                           self._stage_offsets, self.arrays, self.settings, self._scratch, RMSPROP_BETA2, RMSPROP_EPS)
        self.started = True
        self._note_divergence(predictions, start)
        return predictions

    def _check_chunk(self, obs, cumulant, gamma, stream_of) -> None:
        if obs.ndim != 3 or obs.shape[2] != self.n_inputs:
            raise ValueError(f"obs must have shape (n_streams, T, {self.n_inputs}) for this population, got "
                             f"{obs.shape}; stack the streams' chunks with np.stack(..., axis=0)")
        if cumulant.shape != obs.shape[:2] or gamma.shape != obs.shape[:2]:
            raise ValueError(f"cumulant and gamma must have shape {obs.shape[:2]}, got {cumulant.shape} and "
                             f"{gamma.shape}")
        if stream_of.shape != (self.n_runs,) or (stream_of < 0).any() or (stream_of >= obs.shape[0]).any():
            raise ValueError(f"stream_of must hold {self.n_runs} stream indices in [0, {obs.shape[0]}), "
                             f"got {stream_of.tolist()}")
        if not np.isfinite(obs).all():
            raise ValueError("obs contains NaN or inf; a stream is corrupt")
        _check_transition(cumulant, gamma)

    def _note_divergence(self, predictions: np.ndarray, start: int) -> None:
        bad = ~np.isfinite(predictions)
        for run in np.flatnonzero(bad.any(axis=1) & ~self.diverged):
            self.diverged[run] = True
            self.diverged_at[run] = start + int(np.argmax(bad[run]))

    # ------------------------------------------------------------ checkpoints
    def get_state(self) -> dict[str, Any]:
        """A checkpoint: :meth:`set_state` on a population of the same runs continues exactly."""
        return {"learner": self.learner_class.name, "n_inputs": self.n_inputs, "seeds": list(self.seeds),
                "hyperparameters": [dict(hp) for hp in self._hyperparameters], "started": self.started,
                "arrays": {key: value.copy() for key, value in self.arrays._asdict().items()},
                "diverged": self.diverged.copy(), "diverged_at": self.diverged_at.copy()}

    def set_state(self, state: dict[str, Any]) -> None:
        if (state.get("learner") != self.learner_class.name or state.get("n_inputs") != self.n_inputs
                or state.get("seeds") != self.seeds or state.get("hyperparameters") != self._hyperparameters):
            raise ValueError("this checkpoint belongs to another population (learner, inputs, seeds or "
                             "hyperparameters differ); build the population with the checkpoint's runs first")
        for key, value in self.arrays._asdict().items():
            value[...] = state["arrays"][key]
        self.started = bool(state["started"])
        self.diverged[:] = state["diverged"]
        self.diverged_at[:] = state["diverged_at"]


def _check_same_shape(first: ColumnNetworkLearner, other: ColumnNetworkLearner) -> None:
    """Raise ValueError unless ``other`` can share a population with ``first``."""
    if type(other) is not type(first) or other.n_inputs != first.n_inputs:
        raise ValueError(f"a population holds one learner class and input size: got {type(first).__name__}"
                         f"({first.n_inputs} inputs) and {type(other).__name__}({other.n_inputs} inputs)")
    a, b = first.hyperparameters(), other.hyperparameters()
    differ = [key for key in SHAPE_KEYS if a[key] != b[key]]
    if differ:
        raise ValueError(f"the runs of a population must share {', '.join(differ)}: got "
                         f"{[a[k] for k in differ]} and {[b[k] for k in differ]}; put them in different populations")
    if other.started != first.started or other.steps_done != first.steps_done:
        raise ValueError("the runs of a population must be at the same step of their streams")

