"""One run of a sweep: what to run (:class:`RunSpec`), its stable id, and grid expansion.

A run is one call of its kind's run function (:mod:`rtrlbench.sweep.sweep_registry`); the
default kind, ``"prediction"``, is :func:`rtrlbench.run.run`. Its id is a hash of everything that
determines the result (kind, env and env kwargs, learner and the hyperparameters asked for,
seed, steps, scoring windows, package version), so the same run asked for by two
experiments, or by the same experiment after a crash, is computed and stored once.
"""
from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import asdict, dataclass, field
from typing import Any, Mapping, Sequence

import rtrlbench

#: The run kind of prediction runs (:func:`rtrlbench.run.run`); left out of their run ids.
DEFAULT_KIND = "prediction"


@dataclass(frozen=True)
class RunSpec:
    """Arguments of one run of kind ``kind`` (plain JSON-able values only); for the default kind,
    of one :func:`rtrlbench.run.run` call."""

    env_id: str
    learner: str
    seed: int
    steps: int
    hyperparameters: Mapping[str, Any] = field(default_factory=dict)
    env_kwargs: Mapping[str, Any] = field(default_factory=dict)
    final_window: int | None = None
    curve_window: int | None = None
    kind: str = DEFAULT_KIND

    @property
    def run_id(self) -> str:
        """16 hex digits of SHA-256 over the canonical JSON of the spec and the package version.

        The default kind is left out of the hash, so prediction runs keep the ids they had
        before run kinds existed (stores stay valid).
        """
        key = {**self.to_dict(), "package_version": rtrlbench.__version__}
        if key["kind"] == DEFAULT_KIND:
            del key["kind"]
        text = json.dumps(key, sort_keys=True, separators=(",", ":"), allow_nan=False)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def to_dict(self) -> dict[str, Any]:
        return json.loads(json.dumps(asdict(self)))  # tuples -> lists, mappings -> dicts

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "RunSpec":
        return cls(**data)

    def describe(self) -> str:
        hp = ", ".join(f"{k}={v}" for k, v in sorted(self.hyperparameters.items()))
        kind = "" if self.kind == DEFAULT_KIND else f"{self.kind} run: "
        return f"{kind}{self.learner}({hp}) on {self.env_id}, seed {self.seed}, {self.steps:,} steps"


def grid_points(grid: Mapping[str, Sequence]) -> list[dict[str, Any]]:
    """Every combination of a hyperparameter grid, in the grid's key order.

    ``{"alpha": [1e-3, 1e-4], "lam": [0.99]}`` -> ``[{"alpha": 1e-3, "lam": 0.99}, {"alpha": 1e-4, "lam": 0.99}]``;
    an empty grid has one point, ``{}``.
    """
    for name, values in grid.items():
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or len(values) == 0:
            raise ValueError(f"grid entry {name!r} must be a non-empty list of values, got {values!r}")
    names = list(grid)
    return [dict(zip(names, combo)) for combo in itertools.product(*(grid[n] for n in names))]


def unavailable_reason(spec: RunSpec) -> str | None:
    """Why ``spec`` cannot run in this installation (unknown kind, learner or env), or None.

    Checked before submission so that an experiment written against a learner or task
    that is not installed fails with one clear message instead of a worker traceback.
    """
    import gymnasium as gym

    from rtrlbench.agents.registry import LEARNERS
    from rtrlbench.sweep.sweep_registry import run_kinds

    if spec.kind not in run_kinds():
        return f"run kind {spec.kind!r} is not known in this installation (known: {', '.join(run_kinds())})"
    if spec.learner != "oracle" and spec.learner not in LEARNERS:
        known = ", ".join(sorted([*LEARNERS, "oracle"]))
        return f"learner {spec.learner!r} is not registered in this installation (known: {known})"
    if spec.env_id not in gym.registry:
        return f"env {spec.env_id!r} is not registered in this installation (see `rtrlbench envs`)"
    return None
