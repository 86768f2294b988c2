"""``rtrlbench leaderboard seed-table``: fill the table with the suite's own learners.

For each method in ``seed_config.json`` and each reference (env, budget, seeds) it runs
:func:`rtrlbench.run.run` (reusing records already in ``records_dir``, so it resumes),
turns the records into a submission, submits it unless that method and commit (or the same
numbers) is already in, and verifies it by rerunning one seed. A method with a ``"skip"``
reason is left out; a method with ``"envs"`` (env-id prefixes, e.g. ``["AtariPrediction/"]``) runs
only on the references whose env id starts with one of them.
"""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

from rtrlbench.leaderboard.convert import records_to_submission
from rtrlbench.leaderboard.references import load_references
from rtrlbench.leaderboard.render import DEFAULT_OUT
from rtrlbench.leaderboard.submission import SubmissionError
from rtrlbench.leaderboard.submission_files import SUBMISSIONS_DIR, load_folder
from rtrlbench.leaderboard.tables import slug
from rtrlbench.leaderboard.verify import verify

SEED_CONFIG = Path(__file__).resolve().parent / "seed_config.json"


def seed_table(config_path: str | Path | None = None, records_dir: str | Path = "leaderboard-runs",
               commit: str | None = None, submissions_dir: str | Path = SUBMISSIONS_DIR,
               out_dir: str | Path = DEFAULT_OUT,
               references_path: str | Path | None = None, progress: bool = True) -> list[str]:
    """Run, submit and verify every configured method; returns a line per method saying what happened."""
    from rtrlbench.leaderboard.submit import submit
    from rtrlbench.atomic import write_json

    config = json.loads(Path(config_path or SEED_CONFIG).read_text())
    references = load_references(references_path)
    if not references:
        raise ValueError("there are no reference numbers yet; run `rtrlbench leaderboard references` first")
    commit = commit or _git_commit()
    report = []
    for method in config["methods"]:
        if method.get("skip"):
            report.append(f"{method['name']}: skipped ({method['skip']})")
            continue
        if _already_in(submissions_dir, method["name"], commit):
            report.append(f"{method['name']}: already submitted at commit {commit}")
            continue
        chosen = _references_for(method, references)
        folder = Path(records_dir) / slug(method["name"])
        records = [_record(folder, method, ref["env_id"], ref["steps"], seed, progress)
                   for ref in chosen for seed in ref["seeds"]]
        document = records_to_submission(records, name=method["name"], description=method["description"],
                                         code_url=config["code_url"], commit=commit, contact=config["contact"],
                                         hardware=config.get("hardware") or _hardware())
        path = write_json(folder / "submission.json", document)
        try:
            submission_id, scores, _ = submit(path, submissions_dir, out_dir, references_path, replace=True)
        except SubmissionError as error:
            if not error.field.endswith("results"):  # these numbers are already in, under this or another commit
                raise
            report.append(f"{method['name']}: unchanged ({error})")
            continue
        passed, _ = verify(submission_id, seeds=[chosen[0]["seeds"][0]], envs=[chosen[0]["env_id"]],
                           submissions_dir=submissions_dir, out_dir=out_dir, references_path=references_path,
                           progress=progress, verified_by="rtrl-bench maintainers (rtrlbench leaderboard seed-table)")
        means = ", ".join(f"{s['env_id']} {s['normalised_mean']:.3f}" for s in scores)
        report.append(f"{method['name']}: submission #{submission_id} ({means}); "
                      f"{'verified' if passed else 'NOT verified'}")
    return report


def _references_for(method: dict, references: list[dict]) -> list[dict]:
    """The references ``method`` runs on: those whose env id starts with one of its ``envs`` prefixes (all if none)."""
    prefixes = tuple(method.get("envs") or ("",))
    chosen = [ref for ref in references if ref["env_id"].startswith(prefixes)]
    if not chosen:
        raise ValueError(f"seed config method {method['name']!r}: no reference env id starts with any of "
                         f"{list(prefixes)}; fix its 'envs' or run `rtrlbench leaderboard references` first")
    return chosen


def _record(folder: Path, method: dict, env_id: str, steps: int, seed: int, progress: bool) -> dict:
    from rtrlbench.run import run_or_reuse

    return run_or_reuse(env_id, method["learner"], steps, seed, out_dir=folder,
                        hyperparameters=method.get("hyperparameters") or {}, progress=progress)


def _already_in(submissions_dir, name: str, commit: str) -> bool:
    return any(s.document["method"]["name"] == name and s.document["method"]["commit"] == commit
               for s in load_folder(submissions_dir))


def _git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True,
                             cwd=Path(__file__).resolve().parent)
    except (OSError, subprocess.CalledProcessError):
        raise ValueError("cannot read the git commit of this checkout; pass --commit") from None
    return out.stdout.strip()


def _hardware() -> str:
    import os
    import platform

    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, one thread per run"
