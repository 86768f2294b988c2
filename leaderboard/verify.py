"""``rtrlbench leaderboard verify``: rerun some seeds of a submission and compare errors.

Possible when the submission names a learner this installation can build: a name from
``rtrlbench learners`` or ``package.module:Class`` of an installed :class:`Learner`. Each
chosen (env, seed) is rerun with the submitted hyperparameters through
:func:`rtrlbench.run.run`; the submission is marked verified when every rerun final MSRE
is within ``tolerance`` (relative) of the submitted one.
"""
from __future__ import annotations

import contextlib
import math
from pathlib import Path

import rtrlbench
from rtrlbench.leaderboard.database import DEFAULT_DB, connect, get_document, record_verification, transaction
from rtrlbench.leaderboard.references import load_references
from rtrlbench.leaderboard.render import DEFAULT_OUT, render_files, write_files

#: Default relative tolerance. Reruns on the same machine agree exactly; across machines
#: floating-point differences (FMA, vector widths) can grow over millions of steps.
TOLERANCE = 0.01
#: Seeds rerun per env unless told otherwise (the lowest ones of the required set).
DEFAULT_SEEDS = 2


def verify(submission_id: int, seeds: list[int] | None = None, envs: list[str] | None = None,
           tolerance: float = TOLERANCE, db_path: str | Path = DEFAULT_DB, out_dir: str | Path | None = DEFAULT_OUT,
           references_path: str | Path | None = None, progress: bool = True) -> tuple[bool, list[dict]]:
    """Rerun ``seeds`` (default: the lowest :data:`DEFAULT_SEEDS`) on ``envs`` (default: all of
    the submission's) and record the outcome. Returns ``(passed, details)``."""
    from rtrlbench.run import run

    if not 0 <= tolerance < 1:
        raise ValueError(f"tolerance is relative and must lie in [0, 1), got {tolerance}")
    conn = connect(db_path)
    try:
        document = get_document(conn, submission_id)
        learner = document["method"].get("learner")
        if not learner:
            raise ValueError(f"submission #{submission_id} names no learner this suite can run, so it cannot be "
                             "verified here")
        results = [r for r in document["results"] if not envs or r["env_id"] in envs]
        if not results:
            raise ValueError(f"submission #{submission_id} has no results for {envs}")
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
        with transaction(conn):
            record_verification(conn, submission_id, rtrlbench.__version__, tolerance, passed, details)
            files = render_files(conn, load_references(references_path)) if out_dir is not None else None
    finally:
        conn.close()
    if files is not None:
        write_files(files, out_dir)
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
