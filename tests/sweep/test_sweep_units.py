"""Sweep building blocks without a cluster: run ids, grids, budgets, selection, the results store."""
import json
import math

import numpy as np
import pytest

import rtrlbench
from rtrlbench.sweep.sweep_registry import experiment_names, get_experiment
from rtrlbench.sweep.experiment_definition import Experiment, Method
from rtrlbench.sweep.tune_and_rerun import select
from rtrlbench.sweep.run_spec import RunSpec, grid_points, unavailable_reason
from rtrlbench.sweep.result_store import ResultStore


def spec(**changes):
    base = dict(env_id="TracePatterning-v0", learner="zero", seed=0, steps=1000, hyperparameters={"a": 1, "b": [2, 3]})
    return RunSpec(**{**base, **changes})


def test_run_id_is_stable_and_depends_on_every_field(monkeypatch):
    assert spec().run_id == spec(hyperparameters={"b": [2, 3], "a": 1}).run_id  # key order is irrelevant
    assert len(spec().run_id) == 16 and int(spec().run_id, 16) >= 0
    others = [spec(env_id="TraceConditioning-v0"), spec(learner="oracle"), spec(seed=1), spec(steps=1001),
              spec(hyperparameters={"a": 2, "b": [2, 3]}), spec(env_kwargs={"us_noise": 0.1}), spec(final_window=10)]
    ids = {s.run_id for s in others} | {spec().run_id}
    assert len(ids) == len(others) + 1
    first = spec().run_id
    monkeypatch.setattr(rtrlbench, "__version__", "9.9.9")
    assert spec().run_id != first


def test_spec_round_trips_through_json():
    s = spec(env_kwargs={"isi": (3, 5)})
    again = RunSpec.from_dict(json.loads(json.dumps(s.to_dict())))
    assert again.run_id == s.run_id


def test_grid_points_is_the_cartesian_product_in_key_order():
    assert grid_points({}) == [{}]
    assert grid_points({"alpha": [1, 2], "eps": ["x"]}) == [{"alpha": 1, "eps": "x"}, {"alpha": 2, "eps": "x"}]
    with pytest.raises(ValueError, match="non-empty list"):
        grid_points({"alpha": []})
    with pytest.raises(ValueError, match="non-empty list"):
        grid_points({"alpha": 0.1})


def test_unavailable_learner_or_env_is_named():
    assert unavailable_reason(spec()) is None
    assert "learner 'nope' is not registered" in unavailable_reason(spec(learner="nope"))
    assert "env 'Nope-v0' is not registered" in unavailable_reason(spec(env_id="Nope-v0"))


def test_selection_ranks_by_mean_error_relative_to_the_best_per_task():
    # 3 configurations x 2 tasks x 2 seeds; task 2 has errors 100x larger.
    errors = np.array([[[1.0, 1.0], [200.0, 200.0]],   # relative: 1.0, 2.0 -> 1.5
                       [[2.0, 2.0], [100.0, 100.0]],   # relative: 2.0, 1.0 -> 1.5 (tie: first wins)
                       [[1.5, 1.5], [110.0, 110.0]]])  # relative: 1.5, 1.1 -> 1.3
    scores, winner = select(["a", "b", "c"], errors)
    np.testing.assert_allclose(scores, [1.5, 1.5, 1.3])
    assert winner == 2
    errors[2, 0, 1] = math.inf  # one failed tuning run disqualifies the configuration
    scores, winner = select(["a", "b", "c"], errors)
    assert scores[2] == math.inf and winner == 0
    assert select(["a"], np.full((1, 1, 2), math.inf)) == ([math.inf], None)


def test_budget_scales_steps_per_stage_and_reuses_tuning_seeds():
    method = Method("CCN", "ccn", fixed={"steps_per_stage": 10_000_000}, grid={"alpha": [0.1, 0.01]},
                    scaled=("steps_per_stage",))
    exp = Experiment("x", "x", [method, Method("Zero", "zero")], ["TracePatterning-v0"], steps=50_000_000, seeds=30,
                     analyse=lambda r, d: [])
    budget = exp.budget(steps=1000, seeds=3)
    assert (budget.steps, budget.seeds, budget.tune_seeds) == (1000, 3, 3)
    assert [c["steps_per_stage"] for c in exp.configurations(method, budget)] == [200, 200]
    tuning = exp.tuning_runs(budget)
    assert len(tuning) == 2 * 3 and {s.learner for s in tuning} == {"ccn"}  # "Zero" has nothing to tune
    final = exp.final_runs(budget, {"CCN": {"alpha": 0.1, "steps_per_stage": 200}, "Zero": {}})
    assert [s.seed for s in final["CCN"]] == [0, 1, 2]
    assert {s.run_id for s in final["CCN"]} <= {s.run_id for s in tuning}  # winner's tuning runs are reused
    with pytest.raises(ValueError, match="seeds must be a positive integer"):
        exp.budget(seeds=0)


def test_every_registered_experiment_expands_at_paper_budget():
    for name in experiment_names():
        exp = get_experiment(name)
        budget = exp.budget(games=2)
        assert exp.name == name and budget.steps == exp.steps
        for method in exp.methods:
            assert exp.configurations(method, budget)
        exp.tuning_runs(budget)
    fig5 = get_experiment("trace-fig5")
    assert [m.label for m in fig5.methods][:2] == ["T-BPTT 13:2", "T-BPTT 10:3"]
    with pytest.raises(ValueError, match="unknown experiment 'nope'"):
        get_experiment("nope")


def test_store_writes_whole_records_and_lists_missing(tmp_path):
    store = ResultStore(tmp_path)
    a, b = spec(seed=0), spec(seed=1)
    assert store.missing([a, b, a]) == [a, b]
    store.put_failure(a, "boom")
    store.put(a, {"final_msre": 0.5})
    assert store.missing([a, b]) == [b]
    assert store.get(a.run_id) == {"run_id": a.run_id, "spec": a.to_dict(), "result": {"final_msre": 0.5}}
    assert list(store.failures()) == []  # success clears the earlier failure
    assert [p.name for p in (tmp_path / "runs").iterdir()] == [f"{a.run_id}.json"]  # no temporary files left
    with pytest.raises(ValueError):
        store.put(b, {"final_msre": math.nan})  # not JSON: nothing is written
    assert not store.has(b.run_id) and len(list((tmp_path / "runs").iterdir())) == 1


def test_result_from_another_package_version_is_refused(tmp_path):
    from rtrlbench.sweep.dask_engine import DaskEngine, RunReport

    store, report, s = ResultStore(tmp_path), RunReport(), spec()
    engine = DaskEngine()  # connects lazily: no cluster is started here
    engine._store(store, report, s, {"package_version": "0.0.0-other", "final_msre": 0.1}, progress=False)
    assert "install the same version on the workers" in report.failed[s.run_id] and not store.has(s.run_id)
    engine._store(store, report, s, {"package_version": rtrlbench.__version__, "final_msre": math.nan}, progress=False)
    assert "result not storable" in report.failed[s.run_id] and not store.has(s.run_id)
    assert engine._client is None and engine.cluster is None


def test_cli_lists_experiments(capsys):
    from rtrlbench.cli import main

    assert main(["experiments"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in experiment_names()) and "50,000,000 steps per run" in out and "x 30 seeds" in out
    assert main(["sweep", "nope", "--store", "x"]) == 2
    assert "unknown experiment 'nope'" in capsys.readouterr().err
