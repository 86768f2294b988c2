"""The population of a flat-parameter learner (:class:`~rtrlbench.agents.flat_parameter_learner.FlatParameterLearner`:
all its arrays in one NamedTuple ``_state``, its settings in ``_config``): a subclass names its compiled
loop (``_kernel``, made by :func:`rtrlbench.agents.population_td_kernels.rows_loop`) and its scratch."""
from __future__ import annotations

import abc
from typing import NamedTuple

from rtrlbench.agents.flat_parameter_learner import FlatParameterLearner
from rtrlbench.agents.population_base import PopulationLearner
from rtrlbench.agents.population_td_kernels import FlatTDSettings


class FlatParameterPopulation(PopulationLearner):
    """R flat-parameter learners of one shape; per run ``alpha`` and ``lam`` reach the TD step."""

    _kernel = None

    @staticmethod
    def _state_of(learner: FlatParameterLearner) -> NamedTuple:
        return learner._state

    @abc.abstractmethod
    def _new_scratch(self, first: FlatParameterLearner) -> NamedTuple:
        """The compiled loop's per-step temporaries for this population."""

    def _setup(self, first: FlatParameterLearner) -> None:
        self._config = first._config
        self.settings = FlatTDSettings(*(self.per_run(key) for key in FlatTDSettings._fields))
        self._scratch = self._new_scratch(first)

    def _run_kernel(self, obs, cumulant, gamma, stream_of, predictions) -> None:
        type(self)._kernel(obs, cumulant, gamma, stream_of, predictions, not self.started, self._config, self.arrays,
                           self.settings, self._scratch)
