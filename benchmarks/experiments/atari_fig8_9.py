"""Figures 8 and 9: CCN vs T-BPTT per Atari game (error relative to T-BPTT), and all methods averaged.

Tasks: ``AtariPrediction/<Game>-v1`` for the paper's 50 games (:data:`.paper.ATARI_GAMES`; each game's data
set must be generated first: `rtrlbench data atari --games all`).
Final error: mean over the last 200k steps, as in the paper. One configuration per method is
chosen for all games (score: mean over games of the error relative to the best configuration).
"""
from rtrlbench.benchmarks.experiments import analyses, paper
from rtrlbench.envs.registration import atari_env_id
from rtrlbench.sweep.experiment_definition import Experiment
from rtrlbench.benchmarks.experiments.methods import best_tbptt, proposed_methods

EXPERIMENT = Experiment(
    name="atari-fig8-9",
    title="Atari prediction: CCN vs T-BPTT per game, all methods averaged (Figures 8, 9)",
    methods=[*proposed_methods(paper.ATARI_ARCH), best_tbptt(paper.ATARI_TBPTT_PAIRS)],
    envs=[atari_env_id(game) for game in paper.ATARI_GAMES],
    steps=paper.STEPS,
    seeds=paper.ATARI_SEEDS,
    tune_seeds=paper.TUNE_SEEDS,
    final_window=200_000,
    analyse=analyses.per_game_and_summary(baseline="T-BPTT", compared="CCN"),
)
