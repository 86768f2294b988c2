"""Env identity (version, checksum), reference lookup/regeneration, database migrations."""
from __future__ import annotations

import json
import sqlite3

import pytest

import rtrlbench
from rtrlbench.leaderboard import env_identity as identity_module
from rtrlbench.leaderboard.database import MIGRATIONS, connect, load_entries
from rtrlbench.leaderboard.env_identity import dataset_checksum, env_identity, env_version, register_dataset_checksum
from rtrlbench.leaderboard.references import (NoReferenceError, find_reference, load_references, reference_msre,
                                              regenerate)
from test_leaderboard_support import ENV, SEEDS, STEPS, world  # noqa: F401


def test_version_is_the_id_suffix_plus_package_version():
    assert env_version("TracePatterning-v0") == f"v0+{rtrlbench.__version__}"


def test_checksum_depends_on_every_argument_including_defaults():
    base = dataset_checksum("TracePatterning-v0")
    assert base.startswith("spec-sha256:") and len(base) == len("spec-sha256:") + 64
    assert dataset_checksum("TracePatterning-v0", {"gamma": 0.9}) == base  # the default, spelled out
    assert dataset_checksum("TracePatterning-v0", {"gamma": 0.8}) != base
    assert dataset_checksum("TracePatterning-v0", {"isi": [24, 36]}) != base
    assert dataset_checksum("TraceConditioning-v0") != base  # other registered kwargs
    with pytest.raises(ValueError, match="unknown env 'Nope-v0'"):
        env_identity("Nope-v0")


def test_dataset_checksum_hook(monkeypatch):
    monkeypatch.setattr(identity_module, "_CHECKSUM_HOOKS", {})
    calls = []
    register_dataset_checksum("TracePat", lambda env_id, kwargs: calls.append((env_id, kwargs)) or "sha256:abc")
    assert env_identity("TracePatterning-v0") == {"env_id": "TracePatterning-v0", "env_version": env_version(
        "TracePatterning-v0"), "dataset_checksum": "sha256:abc"}
    assert calls == [("TracePatterning-v0", {})]
    assert dataset_checksum("TraceConditioning-v0").startswith("spec-sha256:")


def test_references_are_regenerated_and_found(world, tmp_path):  # noqa: F811
    entries = load_references(world["references"])
    entry = find_reference(entries, env_identity(ENV), STEPS)
    assert entry["seeds"] == SEEDS and entry["learner"] == "zero" and entry["final_window"] == STEPS
    assert reference_msre(entry) == pytest.approx(sum(entry["final_msre"]) / 3, rel=1e-12)
    with pytest.raises(NoReferenceError, match=r"at 10,000 steps .* references exist for: 20,000 steps"):
        find_reference(entries, env_identity(ENV), 10_000)
    with pytest.raises(NoReferenceError, match=r"TracePatterning-v0 \(at any budget\)"):
        find_reference(entries, env_identity("TracePatterning-v0"), STEPS)
    stale = {**env_identity(ENV), "env_version": "v0+0.0.1"}
    with pytest.raises(NoReferenceError, match="with version v0\\+0.0.1"):
        find_reference(entries, stale, STEPS)


def test_regenerate_only_some_envs_keeps_the_rest(tmp_path, world):  # noqa: F811
    out = tmp_path / "references.json"
    out.write_text(world["references"].read_text())
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"references": [
        {"env_id": "TracePatterning-v0", "steps": 500, "seeds": [3], "learner": "zero", "hyperparameters": {}}]}))
    regenerate(config, out, only=["TracePatterning-v0"], progress=False)
    assert [(e["env_id"], e["steps"]) for e in load_references(out)] == [(ENV, STEPS), ("TracePatterning-v0", 500)]
    config.write_text(json.dumps({"references": [
        {"env_id": ENV, "steps": 500, "seeds": [0], "learner": "not-a-learner"}]}))
    before = out.read_text()
    with pytest.raises(ValueError, match="'not-a-learner' .* is not registered"):
        regenerate(config, out, progress=False)
    assert out.read_text() == before


def test_shipped_references_match_this_package():
    for entry in load_references():
        assert {k: entry[k] for k in ("env_id", "env_version", "dataset_checksum")} == env_identity(entry["env_id"])
        assert len(entry["final_msre"]) == len(entry["seeds"]) and min(entry["final_msre"]) > 0


def test_migrations_upgrade_old_databases_and_refuse_newer_ones(tmp_path, world):  # noqa: F811
    old = tmp_path / "old.sqlite"
    conn = sqlite3.connect(old, isolation_level=None)
    conn.executescript(MIGRATIONS[0] + "; PRAGMA user_version = 1;")
    conn.close()
    conn = connect(old)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert conn.execute("SELECT COUNT(*) FROM verifications").fetchone()[0] == 0
    assert load_entries(conn) == []
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    conn.close()
    with pytest.raises(RuntimeError, match="newer than this package knows"):
        connect(old)


def test_recorded_data_without_a_checksum_cannot_be_scored(monkeypatch):
    monkeypatch.setattr(identity_module, "RECORDED_PREFIXES", ("TracePatterning",))
    with pytest.raises(ValueError, match="TracePatterning-v0 is made of recorded data but reports no dataset checksum"):
        dataset_checksum("TracePatterning-v0")
    assert dataset_checksum("TraceConditioning-v0").startswith("spec-sha256:")
