"""Shared fixtures for the leaderboard tests (no tests here).

A tiny world: references for TraceConditioning-v0 at 20,000 steps on seeds 0-2, made with
the ``zero`` learner standing in for T-BPTT (so tests do not depend on other learners),
and ``oracle`` and ``zero`` run records for the same seeds to submit.
"""
from __future__ import annotations

import copy
import json

import pytest

from rtrlbench.leaderboard.convert import records_to_submission
from rtrlbench.leaderboard.references import regenerate
from rtrlbench.run import run

ENV = "TraceConditioning-v0"
STEPS = 20_000
SEEDS = [0, 1, 2]
METHOD = dict(description="Plain text: a < b && c > d, \"quoted\" & 'single'.", code_url="https://example.org/code",
              commit="0123abc", contact="Tester (tester@example.org)", hardware="2-core VM")


@pytest.fixture(scope="session")
def world(tmp_path_factory):
    """``{"references": path, "records": {learner: [records]}}``."""
    root = tmp_path_factory.mktemp("leaderboard")
    config = root / "reference_config.json"
    config.write_text(json.dumps({"references": [
        {"env_id": ENV, "steps": STEPS, "seeds": SEEDS, "learner": "zero", "hyperparameters": {}}]}))
    references = regenerate(config, root / "references.json", progress=False)
    records = {learner: [run(ENV, learner, STEPS, seed, progress=False) for seed in SEEDS]
               for learner in ("oracle", "zero")}
    return {"references": references, "records": records}


def make_document(world, learner="oracle", name="Oracle", **overrides) -> dict:
    """A valid submission of ``learner``'s records; ``overrides`` replace method fields."""
    document = records_to_submission(copy.deepcopy(world["records"][learner]), name=name, **{**METHOD, **overrides})
    return document


def write(tmp_path, document, name="submission.json"):
    path = tmp_path / name
    path.write_text(json.dumps(document))
    return path
