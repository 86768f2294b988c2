"""Turn ``rtrlbench run`` records, or a sweep's results store, into a submission document.

A record is a JSON file holding the dict :func:`rtrlbench.run.run` returns, or a sweep
store file ``{"run_id", "spec", "result": <record>}``. Folders are searched recursively.
The records chosen (by learner, hyperparameters and budget) must form one configuration.
The document is checked against the schema and content rules before it is returned, so a
file ``make-submission`` writes is one ``submit`` accepts as far as the format goes.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from rtrlbench.leaderboard.env_identity import env_identity
from rtrlbench.leaderboard.entry_flops import suite_flops_per_step
from rtrlbench.leaderboard.submission import check_submission


def find_records(paths: list[str | Path]) -> list[dict]:
    """Every run record in ``paths`` (files, or folders searched recursively)."""
    records = []
    for path in map(Path, paths):
        if not path.exists():
            raise FileNotFoundError(f"no such file or folder: {path}")
        for file in sorted(path.rglob("*.json")) if path.is_dir() else [path]:
            try:
                data = json.loads(file.read_text())
            except (json.JSONDecodeError, UnicodeDecodeError):
                continue
            record = data.get("result") if isinstance(data, dict) and isinstance(data.get("result"), dict) else data
            if isinstance(record, dict) and {"env_id", "learner", "seed", "final_msre", "curve"} <= record.keys():
                records.append(record)
    return records


def records_to_submission(records: list[dict], *, name: str, description: str, code_url: str, commit: str,
                          contact: str, hardware: str, learner: str | None = None, hyperparameters: dict | None = None,
                          steps: int | None = None) -> dict:
    """A submission document (see ``submission.schema.json``) from one configuration's records,
    checked by :func:`~rtrlbench.leaderboard.submission.check_submission` (a bad ``commit`` or
    markup in ``name`` is refused here, naming the field, not later at ``submit``)."""
    chosen = [r for r in records if (learner is None or r["learner"] == learner) and (steps is None or r["steps"] == steps)
              and all(r["hyperparameters"].get(k) == v for k, v in (hyperparameters or {}).items())]
    if not chosen:
        raise ValueError(f"none of the {len(records)} run records matches learner={learner!r}, "
                         f"hyperparameters={hyperparameters or {}}, steps={steps}")
    configs = {(r["learner"], _key(r["hyperparameters"])) for r in chosen}
    if len(configs) > 1:
        listing = "\n  ".join(f"--learner {lrn} --hparams '{hp}'" for lrn, hp in sorted(configs))
        raise ValueError(f"the records hold {len(configs)} configurations; choose one with:\n  {listing}")
    versions = {r["package_version"] for r in chosen}
    if len(versions) > 1:
        raise ValueError(f"the records come from several package versions {sorted(versions)}; use one")
    from rtrlbench.agents.registry import LEARNERS

    learner_name = chosen[0]["learner"]
    return check_submission({
        "schema_version": 1,
        "method": {"name": name, "description": description, "code_url": code_url, "commit": commit,
                   "learner": learner_name if learner_name in LEARNERS or learner_name == "oracle" else None},
        "package_version": versions.pop(),
        "hardware": hardware,
        "contact": contact,
        "results": [_result(group) for group in _by_env(chosen)],
    })


def _by_env(records: list[dict]) -> list[list[dict]]:
    groups: dict[str, list[dict]] = {}
    for record in records:
        groups.setdefault(record["env_id"], []).append(record)
    for env_id, group in groups.items():
        budgets = sorted({r["steps"] for r in group})
        if len(budgets) > 1:
            raise ValueError(f"{env_id} has runs at several budgets {budgets}; choose one with --steps")
        seeds = [r["seed"] for r in group]
        if len(set(seeds)) != len(seeds):
            raise ValueError(f"{env_id} has several runs with the same seed; keep one per seed")
    return [sorted(g, key=lambda r: r["seed"]) for _, g in sorted(groups.items())]


def _result(group: list[dict]) -> dict:
    from rtrlbench.run import make_env

    first = group[0]
    hp = {k: v for k, v in first["hyperparameters"].items() if k != "seed"}
    n_inputs = int(np.prod(make_env(first["env_id"], first["env_kwargs"]).observation_space.shape))
    return {
        **env_identity(first["env_id"], first["env_kwargs"]),
        "steps": first["steps"],
        "final_window": first["final_window"],
        "curve_window": first["curve_window"],
        "hyperparameters": hp,
        "flops_per_step": suite_flops_per_step(first["learner"], n_inputs, hp),
        "runs": [{"seed": r["seed"], "final_msre": r["final_msre"], "curve": r["curve"],
                  "wall_seconds": r["wall_seconds"]} for r in group],
    }


def _key(hyperparameters: dict) -> str:
    return json.dumps({k: v for k, v in hyperparameters.items() if k != "seed"}, sort_keys=True)
