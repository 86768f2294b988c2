"""The leaderboard's Atari entries: the reference T-BPTT tuned at the leaderboard budget.

Budget: 500,000 steps per run (about two passes over a game's 250,000-step data set), scored on the
last 200,000 steps as in the paper, seeds 0-2. The paper's T-BPTT configuration for Atari is not
published; this sweep picks it among the two cheapest of the paper's equal-compute pairs (truncation:hidden
15:2 and 8:5) and two step sizes, on seed 0 of five games (`--games 5 --seeds 1`), and
`rtrlbench leaderboard references` then runs the winner on every game of :data:`~.paper.ATARI_GAMES`.
"""
from rtrlbench.benchmarks.experiments import analyses, paper
from rtrlbench.envs.registration import atari_env_id
from rtrlbench.sweep.experiment_definition import Experiment, Method

#: Tuning games first, so that `--games 5` tunes on them: varied reward densities and dynamics.
TUNING_GAMES = ["Pong", "Breakout", "MsPacman", "SpaceInvaders", "Frostbite"]
STEPS = 500_000

EXPERIMENT = Experiment(
    name="leaderboard-atari",
    title="Reference T-BPTT on the Atari prediction benchmark (500k steps)",
    methods=[Method("T-BPTT", "tbptt", fixed={"lam": paper.LAMBDA, "optimizer": "rmsprop"},
                    grid={"alpha": [1e-3, 1e-4]},
                    variants=[{"truncation": k, "n_hidden": d} for k, d in [(15, 2), (8, 5)]])],
    envs=[atari_env_id(game)
          for game in TUNING_GAMES + [g for g in paper.ATARI_GAMES if g not in TUNING_GAMES]],
    steps=STEPS,
    seeds=3,
    tune_seeds=1,
    final_window=200_000,
    analyse=analyses.learning_curves,
)
