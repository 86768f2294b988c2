"""Reference T-BPTT return errors: the denominators of every normalised score.

Shipped in ``references.json`` beside this file, one entry per (env id, env version,
dataset checksum, step budget), each with its learner, hyperparameters, seeds, per-seed
final MSRE and, where the task has one, the oracle's per-seed MSRE (the floor). The seeds
of an entry are the seed set every submission for that env and budget must use.

``reference_config.json`` says what to compute; :func:`regenerate` (``rtrlbench
leaderboard references``) runs it through :func:`rtrlbench.run.run` and rewrites the file
atomically.
"""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np

import rtrlbench
from rtrlbench.atomic import write_json
from rtrlbench.leaderboard.env_identity import env_identity

HERE = Path(__file__).resolve().parent
REFERENCES_PATH = HERE / "references.json"
CONFIG_PATH = HERE / "reference_config.json"
REGENERATE_HINT = "regenerate with `rtrlbench leaderboard references` (see leaderboard/reference_config.json)"


class NoReferenceError(ValueError):
    """No reference T-BPTT number exists for an env/version/checksum/budget."""


def load_references(path: str | Path | None = None) -> list[dict]:
    """The reference entries in ``path`` (default: the shipped file); [] if it does not exist."""
    path = Path(path or REFERENCES_PATH)
    if not path.exists():
        return []
    data = json.loads(path.read_text())
    if not isinstance(data, dict) or not isinstance(data.get("entries"), list):
        raise ValueError(f"{path} is not a reference file (expected an object with an 'entries' list)")
    return data["entries"]


def find_reference(references: list[dict], identity: dict, steps: int) -> dict:
    """The entry matching ``identity`` (env id, version, checksum) at ``steps``, or a
    :class:`NoReferenceError` that says what does exist."""
    env_id = identity["env_id"]
    same_env = [r for r in references if r["env_id"] == env_id]
    for entry in same_env:
        if entry["steps"] == steps and all(entry[k] == identity[k] for k in ("env_version", "dataset_checksum")):
            return entry
    if not same_env:
        raise NoReferenceError(f"no reference T-BPTT error exists for {env_id} (at any budget), so it cannot be "
                               f"scored yet; {REGENERATE_HINT}")
    budgets = ", ".join(f"{r['steps']:,} steps ({r['env_version']}, {r['dataset_checksum'][:24]}...)" for r in same_env)
    raise NoReferenceError(f"no reference T-BPTT error exists for {env_id} at {steps:,} steps with version "
                           f"{identity['env_version']} and checksum {identity['dataset_checksum'][:24]}...; "
                           f"references exist for: {budgets}. Run at one of those budgets with this package "
                           f"version, or {REGENERATE_HINT}")


def reference_msre(entry: dict) -> float:
    """The denominator: mean over the reference's seeds of its final MSRE."""
    return float(np.mean(entry["final_msre"]))


def regenerate(config_path: str | Path | None = None, out_path: str | Path | None = None,
               only: list[str] | None = None, progress: bool = True, records_dir: str | Path | None = None) -> Path:
    """Compute every reference in the config (or just the env ids in ``only``, keeping the
    other existing entries) and write the reference file atomically. Returns its path.
    With ``records_dir`` every run's full record (with its learning curve) is also saved
    there, ready for ``rtrlbench leaderboard make-submission``, and runs already saved there
    are reused, so an interrupted regeneration resumes."""
    from rtrlbench.agents.registry import LEARNERS

    config = json.loads(Path(config_path or CONFIG_PATH).read_text())
    out_path = Path(out_path or REFERENCES_PATH)
    todo = [c for c in config["references"] if not only or c["env_id"] in only]
    if only and not todo:
        raise ValueError(f"none of {only} is in the reference config")
    for item in todo:
        if item["learner"] not in LEARNERS:
            raise ValueError(f"the reference learner {item['learner']!r} for {item['env_id']} is not registered "
                             f"(see `rtrlbench learners`), so references cannot be computed yet")
    kept = [e for e in load_references(out_path) if only and e["env_id"] not in only]
    entries = kept + [_compute(item, progress, records_dir) for item in todo]
    write_json(out_path, {"format": 1, "description": "Reference T-BPTT final MSRE per env, version, dataset "
                          "checksum and budget; written by `rtrlbench leaderboard references`.", "entries": entries})
    return out_path


def _compute(item: dict, progress: bool, records_dir: str | Path | None) -> dict:
    from rtrlbench.run import run_or_reuse

    env_id, steps, seeds = item["env_id"], int(item["steps"]), [int(s) for s in item["seeds"]]
    records = [run_or_reuse(env_id, item["learner"], steps, seed, out_dir=records_dir, progress=progress,
                            hyperparameters=item.get("hyperparameters") or {}) for seed in seeds]
    if not any(r["final_msre"] > 0 for r in records):
        raise ValueError(f"the reference {item['learner']} has zero error on {env_id} at every seed (its returns "
                         f"are all 0, e.g. a data set without rewards), so it cannot normalise scores; leave {env_id} "
                         f"out of the reference config")
    oracle = None
    if _has_oracle(env_id):
        oracle = [run_or_reuse(env_id, "oracle", steps, seed, out_dir=records_dir, progress=progress)["final_msre"]
                  for seed in seeds]
    return {
        **env_identity(env_id),
        "steps": steps,
        "final_window": records[0]["final_window"],
        "seeds": seeds,
        "learner": item["learner"],
        "hyperparameters": records[0]["hyperparameters"],
        "config": item,
        "final_msre": [r["final_msre"] for r in records],
        "oracle_final_msre": oracle,
        "wall_seconds": [r["wall_seconds"] for r in records],
        "package_version": rtrlbench.__version__,
        "generated_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }


def _has_oracle(env_id: str) -> bool:
    from rtrlbench.run import make_env

    try:
        make_env(env_id).stream(0).oracle()
    except NotImplementedError:
        return False
    return True
