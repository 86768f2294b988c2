"""Figure 4: columnar, constructive, CCN and the best T-BPTT on trace patterning, learning curves and
the final-error table; the Bayes-optimal oracle on the same streams is the floor (a line in the
figure, the row every method's paired difference can be read against in the table)."""
from rtrlbench.benchmarks.experiments import analyses, paper
from rtrlbench.sweep.experiment_definition import Experiment, Method
from rtrlbench.benchmarks.experiments.methods import best_tbptt, proposed_methods

EXPERIMENT = Experiment(
    name="trace-fig4",
    title="Trace patterning: proposed methods vs the best T-BPTT (Figure 4)",
    methods=[*proposed_methods(paper.TRACE_ARCH), best_tbptt(paper.TRACE_TBPTT_PAIRS), Method("Oracle", "oracle")],
    envs=["TracePatterning-v0"],
    steps=paper.STEPS,
    seeds=paper.TRACE_SEEDS,
    tune_seeds=paper.TUNE_SEEDS,
    analyse=analyses.learning_curves_and_final_errors,
)
