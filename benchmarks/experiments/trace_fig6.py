"""Figure 6: T-BPTT with 10 hidden units and truncation 2, 3, 5, 10, 20 (step-size tuned for each)."""
from rtrlbench.benchmarks.experiments import analyses, paper
from rtrlbench.sweep.experiment_definition import Experiment
from rtrlbench.benchmarks.experiments.methods import tbptt

EXPERIMENT = Experiment(
    name="trace-fig6",
    title="Trace patterning: T-BPTT with 10 hidden units (Figure 6)",
    methods=[tbptt(10, truncation) for truncation in (2, 3, 5, 10, 20)],
    envs=["TracePatterning-v0"],
    steps=paper.STEPS,
    seeds=paper.TRACE_SEEDS,
    tune_seeds=paper.TUNE_SEEDS,
    analyse=analyses.learning_curves,
)
