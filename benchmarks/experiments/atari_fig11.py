"""Figure 11: T-BPTT sensitivity on Atari: features 2..15 at truncation 8, truncation 2..15 at 8 features.

Errors are relative to T-BPTT 8:8 (the configuration both panels share) and averaged over games.
"""
from rtrlbench.benchmarks.experiments import analyses, paper
from rtrlbench.envs.registration import atari_env_id
from rtrlbench.sweep.experiment_definition import Experiment
from rtrlbench.benchmarks.experiments.methods import tbptt

_SIZES = range(2, 16)
_FEATURES = {paper.tbptt_label(d, 8): d for d in _SIZES}
_TRUNCATION = {paper.tbptt_label(8, k): k for k in _SIZES}

EXPERIMENT = Experiment(
    name="atari-fig11",
    title="Atari prediction: T-BPTT capacity and truncation (Figure 11)",
    methods=[*(tbptt(d, 8) for d in _SIZES), *(tbptt(8, k) for k in _SIZES if k != 8)],
    envs=[atari_env_id(game) for game in paper.ATARI_GAMES],
    steps=paper.STEPS,
    seeds=paper.ATARI_SEEDS,
    tune_seeds=paper.TUNE_SEEDS,
    final_window=200_000,
    analyse=analyses.sensitivity(paper.tbptt_label(8, 8), {"hidden features (truncation 8)": _FEATURES,
                                                           "truncation (8 hidden features)": _TRUNCATION}),
)
