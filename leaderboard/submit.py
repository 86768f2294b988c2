"""``rtrlbench leaderboard submit``: check and score a submission, write its file under
``leaderboard/submissions/`` and rebuild the outputs, all or nothing."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from rtrlbench.leaderboard.board_build import assemble, publish
from rtrlbench.leaderboard.references import load_references
from rtrlbench.leaderboard.render import DEFAULT_OUT
from rtrlbench.leaderboard.submission import SubmissionError, load_submission, results_hash
from rtrlbench.leaderboard.scoring import score_submission
from rtrlbench.leaderboard.submission_files import (STORED_KEYS, SUBMISSIONS_DIR, StoredSubmission, load_folder, now,
                                                    order, write)


def after(stored: list[StoredSubmission]) -> str:
    """Now, or one second after the latest submission if that is not earlier: a new entry sorts
    last, so the IDs of the entries already in never change (IDs are positions in time order; only
    replacing a file, `--replace`, moves that entry to the end)."""
    latest = max((item.submitted_at for item in stored), default="")
    current = now()
    if current > latest:
        return current
    return (dt.datetime.fromisoformat(latest) + dt.timedelta(seconds=1)).isoformat(timespec="seconds")


def submit(path: str | Path, submissions_dir: str | Path = SUBMISSIONS_DIR, out_dir: str | Path | None = DEFAULT_OUT,
           references_path: str | Path | None = None, dry_run: bool = False, replace: bool = False,
           submitted_at: str | None = None, progress: bool = False) -> tuple[int, list[dict], Path]:
    """Check the submission at ``path`` (against this installation's envs too), score it, and
    build the whole board with it added (duplicate checks included). Then, unless ``dry_run``,
    write it to ``submissions_dir/<method>__<budgets>.json`` and the outputs (database,
    README, site) to ``out_dir`` (outputs skipped if None). Returns ``(table ID, per-env
    scores, path of the submission file)``. A file of the same name (same method name and
    budgets) is refused unless ``replace`` (a new version of the method: the old file and its
    verifications give way; identical numbers are still refused as a duplicate).

    Nothing is written until everything has succeeded: a refused field, a duplicate, a name
    already taken or a failed render leave the folder and the outputs as they were.
    """
    references = load_references(references_path)
    document = load_submission(path)
    for key in STORED_KEYS:
        if key in document:
            raise SubmissionError(key, "is added by the leaderboard (`submit`, `verify`), not submitted; remove it")
    score_submission(document, references)  # its own errors first, named by field alone
    stored = load_folder(submissions_dir)
    new = StoredSubmission(document, submitted_at or after(stored))
    same = [item for item in stored if item.path.name == new.name]
    if same and not replace:
        raise SubmissionError("method.name", f"{Path(submissions_dir) / new.name} already exists: a submission "
                              "of this method at these budgets is in; name the new one differently (e.g. add a "
                              "version), or replace it (`--replace`)")
    if same and results_hash(same[0].document) == results_hash(document):
        raise SubmissionError("results", f"identical results were already submitted as {same[0].path.name}")
    if same and same[0].document["method"]["commit"] == document["method"]["commit"]:
        raise SubmissionError("method.commit", f"{same[0].path.name} is at commit {document['method']['commit']} "
                              "too; a new version of a method needs a new commit")
    stored = [item for item in stored if item not in same]
    board = assemble(sorted([*stored, new], key=order), references, progress)
    number = next(i for i, item in enumerate(board.stored, 1) if item is new)
    if not dry_run:
        file = write(new, submissions_dir)
        if out_dir is not None:
            publish(board, out_dir)
    else:
        file = Path(submissions_dir) / new.name
    return number, board.scores[number - 1], file
