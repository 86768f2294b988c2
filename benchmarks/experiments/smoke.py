"""The runner's self-test: the zero and oracle predictors on the two trace tasks (seconds to run).

Neither has hyperparameters, so there is no tuning stage; the plots are the learning curves
per task and the error relative to the zero predictor.
"""
from rtrlbench.benchmarks.experiments import analyses
from rtrlbench.sweep.experiment_definition import Experiment, Method

EXPERIMENT = Experiment(
    name="smoke",
    title="Zero and oracle predictors",
    methods=[Method("Zero", "zero"), Method("Oracle", "oracle")],
    envs=["TracePatterning-v0", "TraceConditioning-v0"],
    steps=20_000,
    seeds=3,
    tune_seeds=3,
    analyse=lambda results, out_dir: (analyses.learning_curves(results, out_dir)
                                      + analyses.per_game_and_summary("Zero", "Oracle")(results, out_dir)),
)
