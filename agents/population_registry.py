"""Which learners have a population learner (many runs of one shape in one compiled call), and which
of their hyperparameters may differ between the runs of a population; imported lazily, like
:mod:`rtrlbench.agents.registry`, so that grouping runs compiles nothing."""
from __future__ import annotations

import importlib

#: The column networks' per-run hyperparameters (:mod:`rtrlbench.agents.population_ccn`).
_COLUMN_PER_RUN = ("alpha", "lam", "norm_beta", "norm_eps", "init_scale")
#: Populations of column networks beat single runs on small inputs only (speed_population: 1.7-3.2x at
#: 12 inputs, 0.5-0.6x at 275, where the single run's loops over the inputs are long and vectorised
#: already); between the two it is not measured. Envs with more inputs run their runs alone.
MAX_INPUTS = 32
#: learner name -> ("module:Class" of its population learner, hyperparameters each run has for itself).
POPULATIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    name: ("rtrlbench.agents.population_ccn:ColumnNetworkPopulation", _COLUMN_PER_RUN)
    for name in ("columnar", "constructive", "ccn")
}


def per_run_hyperparameters(name: str) -> tuple[str, ...]:
    """The hyperparameters of learner ``name`` that the runs of one population need not share."""
    return POPULATIONS[name][1]


def max_inputs(name: str) -> int:
    """The largest observation size at which learner ``name``'s runs learn in populations."""
    return MAX_INPUTS if name in POPULATIONS else 0


def population_class(name: str):
    """The population learner class of learner ``name`` (``cls(single_run_learners)``)."""
    try:
        module_name, class_name = POPULATIONS[name][0].split(":")
    except KeyError:
        raise ValueError(f"learner {name!r} has no population learner; those that do: {', '.join(POPULATIONS)}") from None
    return getattr(importlib.import_module(module_name), class_name)
