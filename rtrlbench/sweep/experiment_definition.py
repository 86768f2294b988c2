"""What an experiment is: methods (learner + hyperparameter grid), tasks and the paper's run budget.

An :class:`Experiment` follows the protocol of Javed et al. (2023, Appendix A): every
configuration of a method's grid runs on the tuning seeds (0-4); the configuration with
the lowest mean final error wins; the winner then runs on all seeds (0..N-1). The
tuning runs of the winner are reused as the first seeds of the final runs (same run ids).
:class:`Budget` scales all of this down (`--steps`, `--seeds`, `--games`) so that a short
version runs in minutes.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from rtrlbench.sweep.run_spec import DEFAULT_KIND, RunSpec, grid_points
from rtrlbench.validation import positive_int


@dataclass(frozen=True)
class Method:
    """One curve / bar of a figure: a learner, its fixed and swept hyperparameters.

    label:    name in plots and selections, e.g. ``"CCN"`` or ``"T-BPTT 2:30"``.
    fixed:    hyperparameters every configuration shares.
    grid:     name -> values; every combination is a configuration (cartesian product).
    variants: partial configurations crossed with the grid, for values that go together
              (T-BPTT's truncation:hidden pairs at equal compute).
    scaled:   hyperparameters counted in steps (``steps_per_stage``): they shrink with ``--steps``
              so that a short run still goes through all stages.
    kind:     run kind of its runs (:mod:`rtrlbench.sweep.sweep_registry`; its selection rule tunes it).
    envs, env_kwargs: this method's own tasks and env kwargs (None: the experiment's), for
              experiments whose rows each have their own task (Williams-Zipser).
    steps:    this method's run length at the experiment's paper budget (None: the experiment's);
              ``--steps`` scales it by the same factor.
    """

    label: str
    learner: str
    fixed: Mapping[str, Any] = field(default_factory=dict)
    grid: Mapping[str, Sequence] = field(default_factory=dict)
    variants: Sequence[Mapping[str, Any]] = ({},)
    scaled: Sequence[str] = ()
    kind: str = DEFAULT_KIND
    envs: Sequence[str] | None = None
    env_kwargs: Mapping[str, Any] | None = None
    steps: int | None = None

    def configurations(self, step_scale: float = 1.0) -> list[dict[str, Any]]:
        """Every hyperparameter configuration, with step-counted values multiplied by ``step_scale``."""
        configs = [{**self.fixed, **variant, **point} for variant in self.variants for point in grid_points(self.grid)]
        for config in configs:
            for name in self.scaled:
                if name in config:
                    config[name] = max(1, round(config[name] * step_scale))
        return configs


@dataclass(frozen=True)
class Budget:
    """How much of an experiment to run: steps per run, final seeds, tuning seeds, games (None = all)."""

    steps: int
    seeds: int
    tune_seeds: int
    games: int | None = None

    def describe(self) -> str:
        games = "" if self.games is None else f", {self.games} game(s)"
        return f"{self.steps:,} steps, {self.tune_seeds} tuning seed(s), {self.seeds} final seed(s){games}"


@dataclass(frozen=True)
class Experiment:
    """A figure of the paper as a sweep: tasks x methods x seeds, and the analysis that plots it.

    envs:     env ids, or a callable returning them (tasks discovered at run time, e.g. Atari games).
    analyse:  ``analyse(results, out_dir) -> list[Path]``, with ``results`` from
              :func:`rtrlbench.sweep.tune_and_rerun.collect`; writes the figure(s) and returns their paths.
    """

    name: str
    title: str
    methods: Sequence[Method]
    envs: Sequence[str] | Callable[[], Sequence[str]]
    steps: int
    seeds: int
    analyse: Callable[[Any, Path], list[Path]]
    tune_seeds: int = 5
    env_kwargs: Mapping[str, Any] = field(default_factory=dict)
    final_window: int | None = None

    def budget(self, steps: int | None = None, seeds: int | None = None, games: int | None = None,
               tune_seeds: int | None = None) -> Budget:
        """The paper's budget, with any of its parts overridden (e.g. ``steps=100_000, seeds=3``)."""
        steps = self.steps if steps is None else steps
        seeds = self.seeds if seeds is None else seeds
        tune_seeds = min(self.tune_seeds if tune_seeds is None else tune_seeds, seeds)
        for name, value in (("steps", steps), ("seeds", seeds), ("tune_seeds", tune_seeds)):
            positive_int(name, value)
        if games is not None:
            positive_int("games", games)
        return Budget(steps, seeds, tune_seeds, games)

    def env_ids(self, budget: Budget) -> list[str]:
        envs = list(self.envs() if callable(self.envs) else self.envs)
        if not envs:
            raise ValueError(f"experiment {self.name!r} found no tasks to run (are its envs registered?)")
        return envs if budget.games is None else envs[: budget.games]

    def method_envs(self, method: Method, budget: Budget) -> list[str]:
        """The tasks ``method`` runs on: its own, or the experiment's (first ``budget.games`` of them)."""
        envs = self.env_ids(budget) if method.envs is None else list(method.envs)
        return envs if budget.games is None else envs[: budget.games]

    def configurations(self, method: Method, budget: Budget) -> list[dict[str, Any]]:
        return method.configurations(budget.steps / self.steps)

    def spec(self, method: Method, env_id: str, hyperparameters: Mapping[str, Any], seed: int, budget: Budget) -> RunSpec:
        steps = budget.steps if method.steps is None else max(1, round(method.steps * budget.steps / self.steps))
        env_kwargs = self.env_kwargs if method.env_kwargs is None else method.env_kwargs
        return RunSpec(env_id=env_id, learner=method.learner, seed=seed, steps=steps,
                       hyperparameters=dict(hyperparameters), env_kwargs=dict(env_kwargs),
                       final_window=None if self.final_window is None else min(self.final_window, steps),
                       kind=method.kind)

    def tuning_runs(self, budget: Budget) -> list[RunSpec]:
        """Every configuration of every method with more than one, on the tuning seeds."""
        return [self.spec(method, env, config, seed, budget)
                for method in self.methods if len(self.configurations(method, budget)) > 1
                for config in self.configurations(method, budget)
                for env in self.method_envs(method, budget) for seed in range(budget.tune_seeds)]

    def final_runs(self, budget: Budget, winners: Mapping[str, Mapping[str, Any] | None]) -> dict[str, list[RunSpec]]:
        """Method label -> the winner's runs on all seeds and tasks (methods without a winner are left out)."""
        return {method.label: [self.spec(method, env, winners[method.label], seed, budget)
                               for env in self.method_envs(method, budget) for seed in range(budget.seeds)]
                for method in self.methods if winners.get(method.label) is not None}
