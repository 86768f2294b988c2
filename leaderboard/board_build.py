"""``rtrlbench leaderboard build`` and ``check``: everything the leaderboard publishes, built from
the submission files in ``leaderboard/submissions/``.

:func:`assemble` checks and scores every file (oldest first; their order gives the table IDs),
loads them into a fresh SQLite database and renders ``README.md`` and ``site/`` from it, all
in memory: the same files and references give byte-identical outputs (no clock, no random
state; the IQM bootstrap is seeded). :func:`build` writes the outputs and the database (a
cache, git-ignored); :func:`check` is what CI runs: every file valid, canonically named and
laid out, and the committed ``README.md`` and ``site/index.html`` up to date.
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from rtrlbench.atomic import atomic_path
from rtrlbench.leaderboard.database import DB_NAME, connect, insert_submission, record_verification, transaction
from rtrlbench.leaderboard.references import load_references
from rtrlbench.leaderboard.render import DEFAULT_OUT, PLOT_DIR, render_files, write_files
from rtrlbench.leaderboard.scoring import score_submission
from rtrlbench.leaderboard.submission import SubmissionError, check_submission
from rtrlbench.leaderboard.submission_files import SUBMISSIONS_DIR, StoredSubmission, dumps, load_folder

#: Outputs whose bytes :func:`check` compares with the committed ones (plots: by name only,
#: since PNG bytes depend on the matplotlib and freetype versions).
CHECKED_OUTPUTS = ("README.md", "site/index.html")


@dataclass
class Board:
    """Everything built from a list of submission files."""

    stored: list[StoredSubmission]
    scores: list[list[dict]]  # per submission, per result (see scoring.score_result)
    files: dict[str, bytes]  # path relative to the output folder -> content
    database: bytes  # the SQLite file


def assemble(stored: list[StoredSubmission], references: list[dict], progress: bool = False) -> Board:
    """Check, score, load and render ``stored`` (in this order: IDs 1, 2, ...). A refused file
    raises :class:`SubmissionError` whose field starts with the file's name."""
    scores = []
    with tempfile.TemporaryDirectory(prefix="rtrlbench-board-") as tmp:
        path = Path(tmp) / DB_NAME
        conn = connect(path)
        try:
            with transaction(conn):
                for item in stored:
                    scores.append(_load(conn, item, references))
            files = render_files(conn, references, progress=progress)
        finally:
            conn.close()
        database = path.read_bytes()
    return Board(stored, scores, files, database)


def _load(conn, item: StoredSubmission, references: list[dict]) -> list[dict]:
    label = item.path.name if item.path is not None else item.name
    try:
        if item.path is not None and item.path.name != item.name:
            raise SubmissionError("(file name)", f"must be {item.name!r} (method name and budgets); rename it")
        if not item.submitted_at:
            raise SubmissionError("submitted_at", "is missing; files under leaderboard/submissions/ are written by "
                                  "`rtrlbench leaderboard submit`")
        check_submission(item.to_json(), local_identity=False)
        result_scores = score_submission(item.document, references)
        submission_id = insert_submission(conn, item.document, result_scores, item.submitted_at, item.name)
        for record in item.verifications:
            record_verification(conn, submission_id, record)
    except SubmissionError as error:
        raise SubmissionError(f"{label}: {error.field}", error.reason) from None
    return result_scores


def build(submissions_dir: str | Path = SUBMISSIONS_DIR, out_dir: str | Path = DEFAULT_OUT,
          references_path: str | Path | None = None, db_path: str | Path | None = None,
          reformat: bool = False, progress: bool = False) -> list[Path]:
    """Build the database (default ``out_dir/leaderboard.sqlite``), ``README.md`` and ``site/``
    from the files in ``submissions_dir``; with ``reformat``, also rewrite every submission
    file in the canonical layout. Returns the paths written."""
    stored = load_folder(submissions_dir)
    board = assemble(stored, load_references(references_path), progress)
    written = publish(board, out_dir, db_path)
    if reformat:
        for item in stored:
            if item.path.read_text() != dumps(item):
                with atomic_path(item.path) as tmp:
                    tmp.write_text(dumps(item))
                written.append(item.path)
    return written


def publish(board: Board, out_dir: str | Path, db_path: str | Path | None = None) -> list[Path]:
    """Write ``board``'s outputs under ``out_dir`` and its database to ``db_path`` (default
    ``out_dir/leaderboard.sqlite``), each atomically; returns the paths written."""
    written = write_files(board.files, out_dir)
    db_path = Path(db_path or Path(out_dir) / DB_NAME)
    with atomic_path(db_path) as tmp:
        tmp.write_bytes(board.database)
    return [*written, db_path]


def check(submissions_dir: str | Path = SUBMISSIONS_DIR, out_dir: str | Path | None = DEFAULT_OUT,
          references_path: str | Path | None = None, progress: bool = False) -> list[str]:
    """What CI checks; returns the problems found ([] = all good): a file that is refused (the
    first one stops the check), one not in the canonical layout, and, unless ``out_dir`` is
    None, committed outputs that differ from what the files build."""
    stored = load_folder(submissions_dir)
    try:
        board = assemble(stored, load_references(references_path), progress)
    except SubmissionError as error:
        return [str(error)]
    problems = [f"{item.path.name}: not in the canonical layout (keys sorted, 2-space indent, number lists on "
                "one line); rewrite it with `rtrlbench leaderboard build --reformat`"
                for item in stored if item.path.read_text() != dumps(item)]
    if out_dir is not None:
        problems += stale_outputs(board, Path(out_dir))
    return problems


def stale_outputs(board: Board, out_dir: Path) -> list[str]:
    """The outputs under ``out_dir`` that the submission files no longer produce."""
    hint = "rebuild with `rtrlbench leaderboard build` and commit the result"
    problems = []
    for relative in CHECKED_OUTPUTS:
        path = out_dir / relative
        if not path.is_file() or path.read_bytes() != board.files[relative]:
            problems.append(f"{path} is stale against the submission files; {hint}")
    plot_dir = out_dir / PLOT_DIR
    built = {Path(name).name for name in board.files if name.startswith(PLOT_DIR + "/")}
    present = {p.name for p in plot_dir.glob("*.png")} if plot_dir.is_dir() else set()
    if built != present:
        problems.append(f"{plot_dir}: plots missing {sorted(built - present)} or left over "
                        f"{sorted(present - built)}; {hint}")
    return problems
