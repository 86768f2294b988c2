"""What every population learner shares: R single-run learners of one shape stacked into one object
(each state array gains a last axis, the run, innermost and contiguous), chunk checks, per-run
divergence, run r back as a single-run learner, and exact checkpoints.

A subclass names the single-run state it stacks (:meth:`PopulationLearner._state_of`, a NamedTuple
of arrays), the hyperparameters every run must share (:attr:`PopulationLearner.shape_keys`), its
own set-up (:meth:`PopulationLearner._setup`) and its compiled loop
(:meth:`PopulationLearner._run_kernel`). :attr:`steps_done` counts the steps :meth:`run_chunk`
has run, from the learners' own ``steps_done`` where they keep one (a checkpoint holds it).

Divergence: the runs share no arithmetic, so a run whose numbers blow up (NaN or inf) only fills
its own column of the arrays; :meth:`run_chunk` returns its predictions as they are and
:attr:`diverged` marks it (and the step at which it first gave a non-finite prediction in
:attr:`diverged_at`), while the other runs go on exactly as they would alone.
"""
from __future__ import annotations

import abc
from typing import Any, NamedTuple, Sequence

import numpy as np

from rtrlbench.learner_interface import Learner, _check_transition


class PopulationLearner(abc.ABC):
    """R single-run learners of one class and shape, learned together.

    Args:
        learners: the R single-run learners (same class, shape and ``n_inputs``; fresh or part
            way through a run, but all at the same step); their state is copied, they are not changed.
    """

    #: Hyperparameters every run shares (they fix the arrays' shapes or the code path).
    shape_keys: tuple[str, ...] = ()

    def __init__(self, learners: Sequence[Learner]) -> None:
        learners = list(learners)
        if not learners:
            raise ValueError("a population needs at least one learner")
        first = learners[0]
        for other in learners[1:]:
            self._check_same_shape(first, other)
        self.learner_class, self.n_inputs, self.n_runs = type(first), first.n_inputs, len(learners)
        self.seeds = [l.seed for l in learners]
        self._hyperparameters = [l.hyperparameters() for l in learners]
        first_state = self._state_of(first)
        self.arrays = type(first_state)(*(np.ascontiguousarray(np.stack(fields, axis=-1))
                                          for fields in zip(*(self._state_of(l) for l in learners))))
        self.started = first.started
        self.diverged = np.zeros(self.n_runs, dtype=bool)
        self.diverged_at = np.full(self.n_runs, -1, dtype=np.int64)
        self._steps = _steps_of(first) or 0
        self._setup(first)

    @classmethod
    def build(cls, learner_class: type[Learner], n_inputs: int, seeds: Sequence[int],
              hyperparameters: Sequence[dict[str, Any]]) -> "PopulationLearner":
        """Fresh runs: ``learner_class(n_inputs, seed=seeds[r], **hyperparameters[r])`` for each r."""
        if len(seeds) != len(hyperparameters):
            raise ValueError(f"got {len(seeds)} seeds for {len(hyperparameters)} hyperparameter sets; give one each")
        return cls([learner_class(n_inputs, seed=s, **hp) for s, hp in zip(seeds, hyperparameters)])

    # ------------------------------------------------------------ subclass hooks
    @staticmethod
    @abc.abstractmethod
    def _state_of(learner: Learner) -> NamedTuple:
        """The single-run learner's state arrays (a NamedTuple; views, written by :meth:`learner`)."""

    def _setup(self, first: Learner) -> None:
        """Per-population set-up after the arrays are stacked (settings, scratch); ``first`` is run 0."""

    @abc.abstractmethod
    def _run_kernel(self, obs: np.ndarray, cumulant: np.ndarray, gamma: np.ndarray, stream_of: np.ndarray,
                    predictions: np.ndarray) -> None:
        """Fill ``predictions`` float64[R, T] by the compiled loop (the inputs are checked already)."""

    @property
    def steps_done(self) -> int:
        """Steps every run has learned from so far (counted by :meth:`run_chunk`)."""
        return self._steps

    def _check_same_shape(self, first: Learner, other: Learner) -> None:
        """Raise ValueError unless ``other`` can share a population with ``first``."""
        if type(other) is not type(first) or other.n_inputs != first.n_inputs:
            raise ValueError(f"a population holds one learner class and input size: got {type(first).__name__}"
                             f"({first.n_inputs} inputs) and {type(other).__name__}({other.n_inputs} inputs)")
        a, b = first.hyperparameters(), other.hyperparameters()
        differ = [key for key in self.shape_keys if a[key] != b[key]]
        if differ:
            raise ValueError(f"the runs of a population must share {', '.join(differ)}: got "
                             f"{[a[k] for k in differ]} and {[b[k] for k in differ]}; put them in "
                             "different populations")
        if other.started != first.started or _steps_of(other) != _steps_of(first):
            raise ValueError("the runs of a population must be at the same step of their streams")

    # ------------------------------------------------------------------ runs
    def hyperparameters(self, run: int) -> dict[str, Any]:
        """Run ``run``'s hyperparameters, as its single-run learner reports them."""
        return dict(self._hyperparameters[run])

    def per_run(self, key: str) -> np.ndarray:
        """Hyperparameter ``key`` of every run, as float64[R] (for the kernel's per-run settings)."""
        return np.array([hp[key] for hp in self._hyperparameters], dtype=float)

    def learner(self, run: int) -> Learner:
        """Run ``run`` as a single-run learner in its present state (a copy; it continues exactly as
        the run would)."""
        settings = {k: v for k, v in self._hyperparameters[run].items() if k != "seed"}  # RTRL reports its seed
        single = self.learner_class(self.n_inputs, seed=self.seeds[run], **settings)
        for mine, theirs in zip(self.arrays, self._state_of(single)):
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
        stream_of = np.ascontiguousarray(np.arange(self.n_runs) if stream_of is None else stream_of, dtype=np.int64)
        self._check_chunk(obs, cumulant, gamma, stream_of)
        predictions = np.empty((self.n_runs, obs.shape[1]))
        if obs.shape[1] == 0:
            return predictions
        start = self.steps_done
        self._run_kernel(obs, cumulant, gamma, stream_of, predictions)
        self._steps += obs.shape[1]
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
                "steps_done": self._steps,
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
        self._steps = int(state.get("steps_done", 0))
        self.diverged[:] = state["diverged"]
        self.diverged_at[:] = state["diverged_at"]


def _steps_of(learner: Learner) -> int | None:
    """The learner's own step count, if it keeps one (else None: only ``started`` can be compared)."""
    steps = getattr(learner, "steps_done", None)
    return None if steps is None else int(steps)
