"""Williams & Zipser (1989) §3.1, pipelined XOR, as a sweep: RTRL with 3, 4 and 5 units, step-size tuned.

The task's per-step error (the prediction stream has gamma = 0, so the return is the next
target) is the W-Z squared output error; learning curves show how fast each network size
learns the delayed XOR. The exact reproductions (delays 2-4, teacher forcing, the other
tasks) are in :mod:`rtrlbench.benchmarks.williams_zipser`.
"""
from rtrlbench.benchmarks.experiments import analyses
from rtrlbench.benchmarks.experiments.base import Experiment, Method

EXPERIMENT = Experiment(
    name="wz-pipelined-xor",
    title="Williams-Zipser pipelined XOR with RTRL",
    methods=[Method(f"RTRL {n} units", "rtrl", fixed={"n_units": n}, grid={"alpha": [0.1, 0.2, 0.5, 1.0]})
             for n in (3, 4, 5)],
    envs=["PipelinedXOR-v0"],
    steps=200_000,
    seeds=10,
    tune_seeds=5,
    final_window=10_000,
    analyse=analyses.learning_curves,
)
