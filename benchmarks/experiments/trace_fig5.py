"""Figure 5: T-BPTT features:truncation at equal compute (13:2 ... 2:30) on trace patterning."""
from rtrlbench.benchmarks.experiments import analyses, paper
from rtrlbench.sweep.experiment_definition import Experiment
from rtrlbench.benchmarks.experiments.methods import tbptt

EXPERIMENT = Experiment(
    name="trace-fig5",
    title="Trace patterning: T-BPTT features:truncation at equal compute (Figure 5)",
    methods=[tbptt(hidden, truncation) for truncation, hidden in paper.TRACE_TBPTT_PAIRS],
    envs=["TracePatterning-v0"],
    steps=paper.STEPS,
    seeds=paper.TRACE_SEEDS,
    tune_seeds=paper.TUNE_SEEDS,
    analyse=analyses.learning_curves,
)
