"""Convert a leaderboard database of the time it was tracked in git (schema version 2, before
the submission files) into submission files, losslessly.

Every submission's stored document becomes a file with its ``submitted_at`` and its
verification records (``verified_by`` did not exist then: it is set to ``VERIFIED_BY``, as
every verification of that database was run by ``rtrlbench leaderboard seed-table``).
Scores, runs' normalised errors and IDs are not stored: the build recomputes them.
``python -m rtrlbench.leaderboard.legacy_database OLD.sqlite FOLDER`` runs it.
"""
from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path

from rtrlbench.leaderboard.submission_files import StoredSubmission, write

#: Who ran the old database's verifications (all of them came from the seed-table command).
VERIFIED_BY = "rtrl-bench maintainers (rtrlbench leaderboard seed-table)"


def convert_database(db_path: str | Path, submissions_dir: str | Path) -> list[Path]:
    """Write one file per submission of the database at ``db_path``; returns their paths."""
    conn = sqlite3.connect(f"file:{Path(db_path)}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version != 2:
            raise ValueError(f"{db_path} has schema version {version}; this converts version 2 (the tracked database)")
        paths = []
        for row in conn.execute("SELECT id, document, submitted_at FROM submissions ORDER BY id"):
            checks = conn.execute("SELECT verified_at, package_version, tolerance, passed, details FROM verifications "
                                  "WHERE submission_id = ? ORDER BY id", (row["id"],)).fetchall()
            verifications = [{"verified_at": c["verified_at"], "verified_by": VERIFIED_BY,
                              "package_version": c["package_version"], "tolerance": c["tolerance"],
                              "passed": bool(c["passed"]), "details": json.loads(c["details"])} for c in checks]
            paths.append(write(StoredSubmission(json.loads(row["document"]), row["submitted_at"], verifications),
                               submissions_dir))
    finally:
        conn.close()
    return paths


if __name__ == "__main__":
    for path in convert_database(sys.argv[1], sys.argv[2]):
        print(path)
