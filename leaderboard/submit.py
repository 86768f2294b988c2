"""``rtrlbench leaderboard submit``: check, score, record and publish a submission atomically."""
from __future__ import annotations

from pathlib import Path

from rtrlbench.leaderboard.database import DEFAULT_DB, connect, insert_submission, transaction
from rtrlbench.leaderboard.references import load_references
from rtrlbench.leaderboard.render import DEFAULT_OUT, render_files, write_files
from rtrlbench.leaderboard.scoring import score_submission
from rtrlbench.leaderboard.submission import load_submission


def submit(path: str | Path, db_path: str | Path = DEFAULT_DB, out_dir: str | Path | None = DEFAULT_OUT,
           references_path: str | Path | None = None, dry_run: bool = False) -> tuple[int, list[dict]]:
    """Check and score the submission at ``path``, record it in the database and regenerate
    the table in ``out_dir`` (skipped if None). Returns ``(id, per-env scores)``. With
    ``dry_run`` everything happens (duplicate checks included) and is then rolled back.

    One transaction: if anything fails (a refused field, a duplicate, rendering) the database
    is left exactly as it was and the table is not touched.
    """
    references = load_references(references_path)
    document = load_submission(path)
    scores = score_submission(document, references)
    conn = connect(db_path)
    try:
        with transaction(conn, commit=not dry_run):
            submission_id = insert_submission(conn, document, scores)
            files = render_files(conn, references) if out_dir is not None else None
    finally:
        conn.close()
    if files is not None and not dry_run:
        write_files(files, out_dir)
    return submission_id, scores


def render(db_path: str | Path = DEFAULT_DB, out_dir: str | Path = DEFAULT_OUT,
           references_path: str | Path | None = None) -> list[Path]:
    """Regenerate the table from the database."""
    conn = connect(db_path)
    try:
        files = render_files(conn, load_references(references_path))
    finally:
        conn.close()
    return write_files(files, out_dir)
