"""Which learners have a population learner (many runs of one shape in one compiled call), which of
their hyperparameters may differ between the runs of a population, and where a population pays;
imported lazily, like :mod:`rtrlbench.agents.registry`, so that grouping runs compiles nothing."""
from __future__ import annotations

import importlib
from typing import NamedTuple


class PopulationEntry(NamedTuple):
    """One learner's population: its class, its per-run hyperparameters, and where it pays."""

    class_path: str                 # "module:Class" of the population learner
    per_run: tuple[str, ...]        # hyperparameters each run has for itself
    max_inputs: int                 # larger observations: the runs go alone (a population is slower there)


#: The column networks' per-run hyperparameters (:mod:`rtrlbench.agents.population_ccn`).
_COLUMN_PER_RUN = ("alpha", "lam", "norm_beta", "norm_eps", "init_scale")
#: Populations of column networks beat single runs on small inputs only (speed_population: 1.7-3.2x at
#: 12 inputs, 0.5-0.6x at 275, where the single run's loops over the inputs are long and vectorised
#: already); between the two it is not measured. Envs with more inputs run their runs alone.
MAX_INPUTS = 32
#: learner name -> its population.
POPULATIONS: dict[str, PopulationEntry] = {
    name: PopulationEntry("rtrlbench.agents.population_ccn:ColumnNetworkPopulation", _COLUMN_PER_RUN, MAX_INPUTS)
    for name in ("columnar", "constructive", "ccn")
}
#: Williams-Zipser RTRL (:mod:`rtrlbench.agents.population_rtrl`): exact, but no faster than single runs,
#: which vectorise their sensitivity rows already (speed_population, trace patterning: 3 units 0.3-1.4x
#: over R = 4..64, 15 units 0.1-0.5x), so sweeps run RTRL runs alone (max_inputs 0).
POPULATIONS["rtrl"] = PopulationEntry("rtrlbench.agents.population_rtrl:RTRLPopulation", ("alpha", "lam", "init_scale"),
                                      0)
#: The eLSTM (:mod:`rtrlbench.agents.population_elstm`) is faster in populations of 16 runs or more at
#: both measured input sizes (speed_population: 9 units on 12 inputs 1.3-1.7x, 7 units on 275 inputs
#: 1.1-1.4x at R = 16..64; 0.4-0.6x at R <= 8), so its runs go together up to Atari's 275 inputs.
POPULATIONS["elstm"] = PopulationEntry("rtrlbench.agents.population_elstm:ELSTMPopulation",
                                       ("alpha", "lam", "forget_bias"), 275)
#: The online LRU (:mod:`rtrlbench.agents.population_lru`): 1.3-1.5x on 12 inputs at R = 16..64, 0.8-1.1x on
#: 275 (speed_population), so, as the column networks, Atari-sized runs go alone.
POPULATIONS["lru"] = PopulationEntry("rtrlbench.agents.population_lru:LRUPopulation",
                                     ("alpha", "lam", "r_min", "r_max", "max_phase"), MAX_INPUTS)
#: T-BPTT's population (:mod:`rtrlbench.agents.population_tbptt`; per run: alpha, lam, beta2, eps). Measured on
#: trace patterning's 12 inputs only (speed_population, R = 32 / 64): 30:2 3.6x / 4.3x, 3:10 1.1x / 1.25x (its
#: RMSProp square roots and the libm gates bound it); wider inputs are not measured, so they run alone.
TBPTT_MAX_INPUTS = 12
POPULATIONS["tbptt"] = PopulationEntry("rtrlbench.agents.population_tbptt:TBPTTPopulation",
                                       ("alpha", "lam", "beta2", "eps"), TBPTT_MAX_INPUTS)


def per_run_hyperparameters(name: str) -> tuple[str, ...]:
    """The hyperparameters of learner ``name`` that the runs of one population need not share."""
    return POPULATIONS[name].per_run


def population_pays(name: str, n_inputs: int) -> bool:
    """Whether runs of learner ``name`` on ``n_inputs`` inputs learn faster in a population than alone
    (measured by ``benchmarks/speed/speed_population.py``)."""
    entry = POPULATIONS.get(name)
    return entry is not None and n_inputs <= entry.max_inputs


def population_class(name: str):
    """The population learner class of learner ``name`` (``cls(single_run_learners)``)."""
    try:
        module_name, class_name = POPULATIONS[name].class_path.split(":")
    except KeyError:
        raise ValueError(f"learner {name!r} has no population learner; those that do: {', '.join(POPULATIONS)}") from None
    return getattr(importlib.import_module(module_name), class_name)
