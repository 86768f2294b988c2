"""The equal-compute race of the field's online recurrent learners (issue 15): columnar, CCN and
T-BPTT (the paper's methods) against the exact-RTRL learners that came after it, RTU (linear and
non-linear), the online LRU and the eLSTM, each the largest of its kind within the paper's FLOP
budget for the task's inputs (:func:`.methods.equal_flop_methods`), step sizes tuned on seeds 0-4.

One experiment per trace task, because equal FLOPs depend on the number of inputs (7, 2 and 17),
and one for Atari (275 inputs; the first ``--games N`` of the paper's 50 games less the three
whose recorded play has no reward, 47; their data sets must be generated first). The score is each run's final error over the baseline's on the same
seed: the Bayes-optimal oracle's on trace tasks (so 1 is the floor), T-BPTT's on Atari (the
paper's normalisation), with 95% t intervals over seeds.
"""
from __future__ import annotations

import gymnasium as gym

from rtrlbench.agents.learner_flops import PAPER_BUDGETS
from rtrlbench.benchmarks.experiments import analyses, paper
from rtrlbench.benchmarks.experiments.methods import equal_flop_methods
from rtrlbench.envs.atari_prediction import OBS_DIM as ATARI_INPUTS
from rtrlbench.envs.registration import atari_env_id
from rtrlbench.sweep.experiment_definition import Experiment, Method

#: T-BPTT truncations raced (with the most hidden units that fit): short, medium, the paper's best on trace.
TRACE_TRUNCATIONS = (5, 15, 30)
ATARI_TRUNCATIONS = (2, 8, 15)  # around the leaderboard's Atari references (15:2, 8:5)
#: Games whose recorded play holds no reward at all: every learner's error is 0 there, so no ratio
#: (docs/atari.md, "Pooyan and JourneyEscape"; the leaderboard leaves them out too).
REWARDLESS_GAMES = ("Assault", "MontezumaRevenge", "Venture")


def _trace_race(name: str, env_id: str) -> Experiment:
    n_inputs = gym.spec(env_id).make().observation_space.shape[0]
    return Experiment(
        name=name,
        title=f"Equal-compute race on {env_id} ({PAPER_BUDGETS['trace']:,} FLOPs per step, {n_inputs} inputs)",
        methods=[*equal_flop_methods(n_inputs, PAPER_BUDGETS["trace"], TRACE_TRUNCATIONS), Method("Oracle", "oracle")],
        envs=[env_id],
        steps=paper.STEPS,
        seeds=paper.TRACE_SEEDS,
        tune_seeds=paper.TUNE_SEEDS,
        analyse=lambda results, out: (analyses.learning_curves(results, out)
                                      + analyses.paired_ratio_table("Oracle")(results, out)),
    )


PATTERNING = _trace_race("race-trace-patterning", "TracePatterning-v0")
CONDITIONING = _trace_race("race-trace-conditioning", "TraceConditioning-v0")
NOISY = _trace_race("race-noisy-patterning", "NoisyPatterning-v0")

ATARI = Experiment(
    name="race-atari",
    title=f"Equal-compute race on Atari prediction ({PAPER_BUDGETS['atari']:,} FLOPs per step)",
    methods=equal_flop_methods(ATARI_INPUTS, PAPER_BUDGETS["atari"], ATARI_TRUNCATIONS),
    envs=[atari_env_id(game) for game in paper.ATARI_GAMES if game not in REWARDLESS_GAMES],
    steps=paper.STEPS,
    seeds=paper.ATARI_SEEDS,
    tune_seeds=paper.TUNE_SEEDS,
    final_window=200_000,
    analyse=analyses.paired_ratio_table("T-BPTT"),
)
