"""Score a checked submission against the reference T-BPTT numbers.

Per env: each seed's final MSRE divided by the reference's mean final MSRE (same env id,
version, dataset checksum and budget) is that seed's *normalised error*; 1 = as good as
T-BPTT, lower is better. Where the task has an oracle, each seed's MSRE is also divided
by the oracle's MSRE on the same seed (same stream): 1 = Bayes-optimal. An error below
that floor is impossible and refused (see :data:`ORACLE_SLACK`).
"""
from __future__ import annotations

import math

import numpy as np

from rtrlbench.leaderboard import stats
from rtrlbench.leaderboard.entry_flops import env_flops_per_step
from rtrlbench.leaderboard.references import NoReferenceError, find_reference, reference_msre
from rtrlbench.leaderboard.submission import SubmissionError

ATARI_PREFIX = "AtariPrediction/"
#: Relative disagreement allowed between a claimed and the suite-computed FLOPs per step.
FLOPS_RTOL = 0.01
#: How far below the oracle's MSRE on the same seed a result may fall by chance before it is
#: refused as impossible. The oracle o_t = E[G_t | past] minimises the expected squared error;
#: over a window a learner y scores  mean (y-G)^2 = mean (o-G)^2 + mean (y-o)^2 + 2 mean (y-o)(o-G),
#: whose last term has mean 0 and standard deviation about 2 sqrt(m v / n) (m = mean (y-o)^2,
#: v = the oracle's MSRE, n = independent trials in the window). The worst case over m is a dip of
#: z^2 v / n: with z = 4 and the ~800 trials of trace patterning's 100,000-step window, 2% of v.
ORACLE_SLACK = 0.02


def benchmark_of(env_id: str) -> str:
    """The table an env's results belong to: ``"Atari"`` for Atari games, else the env id."""
    return "Atari" if env_id.startswith(ATARI_PREFIX) else env_id


def score_submission(document: dict, references: list[dict]) -> list[dict]:
    """One scored entry per result, in submission order (see :func:`score_result`)."""
    learner = document["method"].get("learner")
    return [score_result(result, references, f"results[{i}]", learner) for i, result in enumerate(document["results"])]


def score_result(result: dict, references: list[dict], where: str, learner: str | None = None) -> dict:
    """Check a result against its reference (budget, window, seed set) and score it.

    Returns ``{env_id, benchmark, steps, seeds, final_msre[], normalised[], oracle_ratio[]|None,
    reference_msre, normalised_mean, normalised_se, iqm, iqm_ci, oracle_ratio_mean,
    flops_per_step}`` with per-seed lists ordered like ``seeds``.
    """
    try:
        entry = find_reference(references, result, result["steps"])
    except NoReferenceError as error:
        raise SubmissionError(f"{where}.steps", str(error)) from None
    if result["final_window"] != entry["final_window"]:
        raise SubmissionError(f"{where}.final_window", f"must be {entry['final_window']:,} (the scoring window of "
                              f"{result['env_id']} at {result['steps']:,} steps), got {result['final_window']:,}")
    runs = {run["seed"]: run for run in result["runs"]}
    seeds = list(entry["seeds"])
    missing, extra = sorted(set(seeds) - set(runs)), sorted(set(runs) - set(seeds))
    if missing or extra:
        problem = "; ".join(p for p in (missing and f"missing seed(s) {missing}", extra and f"extra seed(s) {extra}") if p)
        raise SubmissionError(f"{where}.runs", f"{problem}: {result['env_id']} at {result['steps']:,} steps "
                              f"requires exactly the seeds {seeds}")
    msre = np.array([runs[s]["final_msre"] for s in seeds])
    denominator = reference_msre(entry)
    if not denominator > 0:
        raise SubmissionError(f"{where}.env_id", "the reference error is 0, so no error can be normalised by it")
    normalised = msre / denominator
    mean, se = stats.mean_and_se(normalised)
    oracle = entry.get("oracle_final_msre")
    oracle_ratio = None if oracle is None else msre / np.asarray(oracle)
    if oracle_ratio is not None and oracle_ratio.min() < 1 - ORACLE_SLACK:
        i = int(oracle_ratio.argmin())
        raise SubmissionError(f"{where}.runs", f"seed {seeds[i]}'s error {msre[i]:.6g} is {oracle_ratio[i]:.3f} x the "
                              f"Bayes-optimal oracle's on the same stream ({oracle[i]:.6g})"
                              f": below the floor no predictor can reach (beyond {ORACLE_SLACK:.0%} of chance), so it "
                              "cannot be a correct run; check how the errors were computed")
    return {
        "env_id": result["env_id"],
        "benchmark": benchmark_of(result["env_id"]),
        "steps": result["steps"],
        "seeds": seeds,
        "final_msre": msre.tolist(),
        "normalised": normalised.tolist(),
        "reference_msre": denominator,
        "normalised_mean": mean,
        "normalised_se": se,
        "iqm": stats.iqm(normalised),
        "iqm_ci": list(stats.iqm_bootstrap_ci(normalised)),
        "oracle_ratio": None if oracle_ratio is None else oracle_ratio.tolist(),
        "oracle_ratio_mean": None if oracle_ratio is None else float(oracle_ratio.mean()),
        "flops_per_step": _flops(result, learner, where),
    }


def aggregate(normalised: np.ndarray) -> dict:
    """Summary of a ``[n_seeds, n_envs]`` matrix of normalised errors: mean over envs with SE
    over seeds (Figure 9), and IQM with its stratified-bootstrap 95% interval."""
    mean, se = stats.mean_and_se(normalised)
    return {"mean": mean, "se": se, "iqm": stats.iqm(normalised), "iqm_ci": list(stats.iqm_bootstrap_ci(normalised))}


def _flops(result: dict, learner: str | None, where: str) -> float | None:
    claimed = result["flops_per_step"]
    computed = env_flops_per_step(result["env_id"], learner, result["hyperparameters"])
    if computed is None:
        return claimed
    if claimed is not None and not math.isclose(claimed, computed, rel_tol=FLOPS_RTOL, abs_tol=1e-9):
        raise SubmissionError(f"{where}.flops_per_step", f"{claimed:g} disagrees with {computed:g}, the suite's "
                              f"count for learner {learner!r} with these hyperparameters")
    return computed
