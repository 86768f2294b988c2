"""The leaderboard's trace-patterning entries: the reference T-BPTT and the suite's learners, tuned at
the leaderboard budget (1M steps, seeds 0-4), whose selections fill ``leaderboard/reference_config.json``
and ``leaderboard/seed_config.json``.

The budget is 50x shorter than the paper's, so the staged learners get the paper's shape with
stages scaled to fit (constructive 10 x 100k steps, CCN 5 stages x 200k) and the grid includes the
feature normaliser's decay: at beta = 0.99999 its 100k-step time constant is as long as a stage.
T-BPTT keeps the paper's best trace shape (2 hidden units, truncation 30) with the paper's step sizes.
"""
from rtrlbench.benchmarks.experiments import analyses, paper
from rtrlbench.sweep.experiment_definition import Experiment, Method

STEPS = 1_000_000
COLUMN_GRID = {"alpha": [1e-3, 3e-4, 1e-4], "norm_beta": [0.99999, 0.9999]}
SHAPES = {
    "columnar": {"n_features": 5},
    "constructive": {"n_features": 10, "steps_per_stage": 100_000},
    "ccn": {"n_features": 20, "features_per_stage": 4, "steps_per_stage": 200_000},
}

EXPERIMENT = Experiment(
    name="leaderboard-trace",
    title="Leaderboard entries on trace patterning (1M steps)",
    methods=[
        Method("T-BPTT 2:30", "tbptt", fixed={"lam": paper.LAMBDA, "optimizer": "rmsprop", "n_hidden": 2,
                                             "truncation": 30}, grid={"alpha": paper.ALPHA_TBPTT}),
        *[Method(paper.LABELS[name], name, fixed={"lam": paper.LAMBDA, **shape}, grid=COLUMN_GRID,
                 scaled=("steps_per_stage",)) for name, shape in SHAPES.items()],
    ],
    envs=["TracePatterning-v0"],
    steps=STEPS,
    seeds=5,
    tune_seeds=5,
    analyse=analyses.learning_curves,
)
