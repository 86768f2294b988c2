"""The leaderboard database: embedded SQLite, versioned by ``PRAGMA user_version``.

It is a cache, built from the submission files by :mod:`.board_build` (``rtrlbench leaderboard
build``) and never tracked in git: the files in ``leaderboard/submissions/`` are the truth.

:data:`MIGRATIONS` lists the schema changes in order; :func:`connect` applies the ones a
database lacks (each in its own transaction) and refuses a database newer than this code.
Writes go through :func:`transaction`: all of a submission or verification, or nothing.
"""
from __future__ import annotations

import contextlib
import json
import sqlite3
from pathlib import Path

from rtrlbench.leaderboard.submission import SubmissionError, results_hash

#: The database file name in the output folder (``leaderboard/leaderboard.sqlite`` in a clone; git-ignored).
DB_NAME = "leaderboard.sqlite"

MIGRATIONS: list[str] = [
    # 1: submissions, their per-env results and per-seed runs.
    """
    CREATE TABLE submissions (
        id INTEGER PRIMARY KEY,
        method_name TEXT NOT NULL,
        description TEXT NOT NULL,
        code_url TEXT NOT NULL,
        code_commit TEXT NOT NULL,
        learner TEXT,
        package_version TEXT NOT NULL,
        hardware TEXT NOT NULL,
        contact TEXT NOT NULL,
        submitted_at TEXT NOT NULL,
        results_hash TEXT NOT NULL UNIQUE,
        document TEXT NOT NULL,
        UNIQUE (method_name, code_commit)
    );
    CREATE TABLE results (
        submission_id INTEGER NOT NULL REFERENCES submissions(id) ON DELETE CASCADE,
        env_id TEXT NOT NULL,
        benchmark TEXT NOT NULL,
        env_version TEXT NOT NULL,
        dataset_checksum TEXT NOT NULL,
        steps INTEGER NOT NULL,
        curve_window INTEGER NOT NULL,
        hyperparameters TEXT NOT NULL,
        flops_per_step REAL,
        normalised_mean REAL NOT NULL,
        normalised_se REAL,
        score TEXT NOT NULL,
        PRIMARY KEY (submission_id, env_id)
    );
    CREATE TABLE runs (
        submission_id INTEGER NOT NULL,
        env_id TEXT NOT NULL,
        seed INTEGER NOT NULL,
        final_msre REAL NOT NULL,
        normalised REAL NOT NULL,
        wall_seconds REAL NOT NULL,
        curve TEXT NOT NULL,
        PRIMARY KEY (submission_id, env_id, seed),
        FOREIGN KEY (submission_id, env_id) REFERENCES results(submission_id, env_id) ON DELETE CASCADE
    );
    """,
    # 2: verification reruns.
    """
    CREATE TABLE verifications (
        id INTEGER PRIMARY KEY,
        submission_id INTEGER NOT NULL REFERENCES submissions(id) ON DELETE CASCADE,
        verified_at TEXT NOT NULL,
        package_version TEXT NOT NULL,
        tolerance REAL NOT NULL,
        passed INTEGER NOT NULL,
        details TEXT NOT NULL
    );
    """,
    # 3: the submission's file (its identity in the pull-request workflow) and who verified.
    """
    ALTER TABLE submissions ADD COLUMN file TEXT;
    ALTER TABLE verifications ADD COLUMN verified_by TEXT;
    """,
]

#: Verification status of an entry: a rerun agreed / no rerun yet / some rerun disagreed.
VERIFIED, UNVERIFIED, FAILED = "verified", "unverified", "failed"


def connect(path: str | Path) -> sqlite3.Connection:
    """Open (creating if needed) and migrate the database at ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None)  # we issue BEGIN/COMMIT ourselves
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA foreign_keys = ON")
    try:
        migrate(conn)
    except Exception:
        conn.close()
        raise
    return conn


def migrate(conn: sqlite3.Connection) -> int:
    """Apply missing migrations; returns the schema version."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > len(MIGRATIONS):
        raise RuntimeError(f"the leaderboard database has schema version {version}, newer than this package "
                           f"knows ({len(MIGRATIONS)}); upgrade rtrl-bench")
    for number in range(version + 1, len(MIGRATIONS) + 1):
        with transaction(conn):
            for statement in MIGRATIONS[number - 1].split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {number}")
    return len(MIGRATIONS)


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection, commit: bool = True):
    """``BEGIN IMMEDIATE`` ... ``COMMIT``, or ``ROLLBACK`` if the block raises (or ``commit`` is False)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT" if commit else "ROLLBACK")


def insert_submission(conn: sqlite3.Connection, document: dict, scores: list[dict], submitted_at: str,
                      file: str | None = None) -> int:
    """Insert a checked and scored submission (inside the caller's transaction); returns its id.
    Refuses a duplicate: the same numbers, or the same method name and commit."""
    method = document["method"]
    digest = results_hash(document)
    same = conn.execute("SELECT id, method_name FROM submissions WHERE results_hash = ?", (digest,)).fetchone()
    if same:
        raise SubmissionError("results", f"identical results were already submitted as #{same['id']} "
                              f"({same['method_name']!r})")
    same = conn.execute("SELECT id FROM submissions WHERE method_name = ? AND code_commit = ?",
                        (method["name"], method["commit"])).fetchone()
    if same:
        raise SubmissionError("method.commit", f"{method['name']!r} at commit {method['commit']} is already "
                              f"submission #{same['id']}; a new submission needs a new commit")
    cursor = conn.execute(
        "INSERT INTO submissions (method_name, description, code_url, code_commit, learner, package_version, "
        "hardware, contact, submitted_at, results_hash, document, file) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        (method["name"], method["description"], method["code_url"], method["commit"], method.get("learner"),
         document["package_version"], document["hardware"], document["contact"], submitted_at, digest,
         json.dumps(document, sort_keys=True), file),
    )
    submission_id = cursor.lastrowid
    for result, score in zip(document["results"], scores):
        conn.execute(
            "INSERT INTO results VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            (submission_id, result["env_id"], score["benchmark"], result["env_version"], result["dataset_checksum"],
             result["steps"], result["curve_window"], json.dumps(result["hyperparameters"], sort_keys=True),
             score["flops_per_step"], score["normalised_mean"], _real(score["normalised_se"]), json.dumps(score)),
        )
        runs = {run["seed"]: run for run in result["runs"]}
        for seed, normalised in zip(score["seeds"], score["normalised"]):
            run = runs[seed]
            conn.execute("INSERT INTO runs VALUES (?,?,?,?,?,?,?)",
                         (submission_id, result["env_id"], seed, run["final_msre"], normalised, run["wall_seconds"],
                          json.dumps(run["curve"])))
    return submission_id


def record_verification(conn: sqlite3.Connection, submission_id: int, record: dict) -> int:
    """Insert one verification record of a submission file (see :mod:`.submission_files`)."""
    cursor = conn.execute(
        "INSERT INTO verifications (submission_id, verified_at, package_version, tolerance, passed, details, "
        "verified_by) VALUES (?,?,?,?,?,?,?)",
        (submission_id, record["verified_at"], record["package_version"], record["tolerance"], int(record["passed"]),
         json.dumps(record["details"]), record.get("verified_by")))
    return cursor.lastrowid


def load_entries(conn: sqlite3.Connection) -> list[dict]:
    """Every submission with its results (scores, hyperparameters, per-seed curves) and its
    verification ``status``: :data:`FAILED` if any rerun disagreed, else :data:`VERIFIED` if one
    agreed, else :data:`UNVERIFIED`; ``verification`` is the deciding record (None if unverified)."""
    entries = []
    for row in conn.execute("SELECT * FROM submissions ORDER BY id"):
        entry = {k: row[k] for k in row.keys() if k not in ("document", "results_hash")}
        checks = [dict(c) for c in conn.execute("SELECT passed, tolerance, verified_at, verified_by FROM verifications "
                                                "WHERE submission_id = ? ORDER BY id", (row["id"],))]
        failed = [c for c in checks if not c["passed"]]
        entry["status"] = FAILED if failed else VERIFIED if checks else UNVERIFIED
        entry["verified"] = entry["status"] == VERIFIED
        entry["verification"] = (failed or checks or [None])[-1]
        entry["results"] = {}
        for result in conn.execute("SELECT * FROM results WHERE submission_id = ? ORDER BY env_id", (row["id"],)):
            runs = conn.execute("SELECT seed, curve, wall_seconds FROM runs WHERE submission_id = ? AND env_id = ? "
                                "ORDER BY seed", (row["id"], result["env_id"])).fetchall()
            entry["results"][result["env_id"]] = {
                **json.loads(result["score"]),
                "curve_window": result["curve_window"],
                "hyperparameters": json.loads(result["hyperparameters"]),
                "curves": [json.loads(r["curve"]) for r in runs],
                "wall_seconds": [r["wall_seconds"] for r in runs],
            }
        entries.append(entry)
    return entries


def _real(value):
    return None if value is None or value != value else value
