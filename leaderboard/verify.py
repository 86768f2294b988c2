"""``rtrlbench leaderboard verify``: rerun some seeds of a submission and compare errors.

Possible when the submission names a learner this installation can build: a name from
``rtrlbench learners`` or ``package.module:Class`` of an installed :class:`Learner`. Each
chosen (env, seed) is rerun with the submitted hyperparameters through
:func:`rtrlbench.run.run`; the outcome (who, when, which seeds, the rerun figures, the
package version) is appended to the submission's file. The entry is *verified* when a
rerun agreed (every final MSRE within ``tolerance``, relative) and *failed* once any rerun
disagreed: a failed entry is shown apart and leaves the ranking.
"""
from __future__ import annotations

import contextlib
import math
from pathlib import Path

import rtrlbench
from rtrlbench.leaderboard.board_build import assemble, publish
from rtrlbench.leaderboard.references import load_references
from rtrlbench.leaderboard.render import DEFAULT_OUT
from rtrlbench.leaderboard.submission_files import SUBMISSIONS_DIR, find, load_folder, now, write

#: Default relative tolerance. Reruns on the same machine agree exactly; across machines
#: floating-point differences (FMA, vector widths) can grow over millions of steps.
TOLERANCE = 0.01
#: Seeds rerun per env unless told otherwise (the lowest ones of the required set).
DEFAULT_SEEDS = 2


def verify(which: int | str, seeds: list[int] | None = None, envs: list[str] | None = None,
           tolerance: float = TOLERANCE, submissions_dir: str | Path = SUBMISSIONS_DIR,
           out_dir: str | Path | None = DEFAULT_OUT, references_path: str | Path | None = None,
           progress: bool = True, verified_by: str = "rtrl-bench maintainers") -> tuple[bool, list[dict]]:
    """Rerun ``seeds`` (default: the lowest :data:`DEFAULT_SEEDS`) on ``envs`` (default: all of
    the submission's) of submission ``which`` (a table ID, or its file name or path), append
    the outcome to its file and rebuild the outputs in ``out_dir`` (skipped if None). Returns
    ``(passed, details)``. A failed verification marks the entry failed: it leaves the ranking."""
    from rtrlbench.run import run

    if not 0 <= tolerance < 1:
        raise ValueError(f"tolerance is relative and must lie in [0, 1), got {tolerance}")
    stored = load_folder(submissions_dir)
    number, item = find(stored, which)
    document = item.document
    learner = document["method"].get("learner")
    if not learner:
        raise ValueError(f"submission #{number} ({item.path.name}) names no learner this suite can run, so it "
                         "cannot be verified here")
    results = [r for r in document["results"] if not envs or r["env_id"] in envs]
    if not results:
        raise ValueError(f"submission #{number} has no results for {envs}")
    details = []
    with _registered(learner) as name:
        for result in results:
            submitted = {run["seed"]: run["final_msre"] for run in result["runs"]}
            chosen = seeds if seeds is not None else sorted(submitted)[:DEFAULT_SEEDS]
            unknown = sorted(set(chosen) - set(submitted))
            if unknown:
                raise ValueError(f"seed(s) {unknown} are not in the submission's runs for {result['env_id']}")
            for seed in chosen:
                record = run(result["env_id"], name, result["steps"], seed,
                             hyperparameters=result["hyperparameters"], final_window=result["final_window"],
                             curve_window=result["curve_window"], progress=progress)
                claimed = submitted[seed]
                agree = math.isclose(record["final_msre"], claimed, rel_tol=tolerance, abs_tol=1e-12)
                details.append({"env_id": result["env_id"], "seed": seed, "submitted": claimed,
                                "rerun": record["final_msre"], "agree": agree})
    passed = all(d["agree"] for d in details)
    item.verifications.append({"verified_at": now(), "verified_by": verified_by,
                               "package_version": rtrlbench.__version__, "tolerance": tolerance, "passed": passed,
                               "details": details})
    board = assemble(stored, load_references(references_path), progress)
    write(item, submissions_dir)
    if out_dir is not None:
        publish(board, out_dir)
    return passed, details


@contextlib.contextmanager
def _registered(learner: str):
    """Yield a registry name for ``learner``; a ``module:Class`` is registered for the duration."""
    from rtrlbench.agents.registry import LEARNERS

    if learner in LEARNERS or learner == "oracle":  # run() builds the oracle from the stream
        yield learner
        return
    if ":" not in learner:
        raise ValueError(f"learner {learner!r} is not registered here (see `rtrlbench learners`) and is not a "
                         "'package.module:Class' path")
    LEARNERS[learner] = learner
    try:
        yield learner
    finally:
        LEARNERS.pop(learner, None)
