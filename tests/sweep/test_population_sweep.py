"""Sweeps through population tasks store the records the single-run path stores: same runs, same
final errors and curves (bit for bit), one record per run; runs without a population learner and
runs that fail go alone."""
import pytest

from rtrlbench.population_run import population_key, run_population
from rtrlbench.run import run
from rtrlbench.sweep.dask_engine import DaskEngine, population_tasks
from rtrlbench.sweep.result_store import ResultStore
from rtrlbench.sweep.run_spec import RunSpec

STEPS = 6_000
CCN = {"n_features": 4, "features_per_stage": 2, "steps_per_stage": 2_500, "optimizer": "sgd"}


def _specs():
    """A small tuning grid: CCN over alpha x norm_eps on two seeds, a columnar pair, and T-BPTT
    (one run: too few for a population) and a diverging CCN configuration."""
    specs = [RunSpec("TracePatterning-v0", "ccn", seed, STEPS, {**CCN, "alpha": alpha, "norm_eps": eps},
                     curve_window=1_000)
             for alpha in (1e-2, 1e-3) for eps in (0.1, 0.01) for seed in (0, 1)]
    specs += [RunSpec("TracePatterning-v0", "columnar", seed, STEPS, {"n_features": 3, "alpha": 1e-3})
              for seed in (0, 3)]
    specs.append(RunSpec("TracePatterning-v0", "tbptt", 0, STEPS, {"n_hidden": 2, "truncation": 3}))
    specs.append(RunSpec("TracePatterning-v0", "ccn", 1, STEPS, {**CCN, "alpha": 1e12,
                                                                 "norm_eps": 1e-3}, curve_window=1_000))
    return specs


def test_population_tasks_group_by_shape_env_and_budget():
    specs = _specs()
    tasks = population_tasks(specs, size=3, minimum=2)
    sizes = [len(t) for t in tasks]
    assert sizes == [3, 3, 3, 2, 1]  # 9 CCN runs in 3 tasks of 3, the columnar pair, T-BPTT alone
    assert sorted(s.run_id for t in tasks for s in t) == sorted(s.run_id for s in specs)
    assert all(len(t) == 1 for t in population_tasks(specs, size=1, minimum=2))
    assert all(len(t) == 1 for t in population_tasks(specs, size=16, minimum=10))  # groups of 9 and 2: alone
    atari = RunSpec("AtariPrediction/Pong-v1", "ccn", 0, STEPS, CCN)
    assert population_key(atari.to_dict()) is None  # 275 inputs: populations are slower there
    assert population_key(RunSpec("AtariPrediction/Pong-v1", "tbptt", 0, STEPS, {"n_hidden": 2}).to_dict()) is None
    assert population_key(RunSpec("TracePatterning-v0", "rtrl", 0, STEPS, {}).to_dict()) is None  # no population
    other_shape = RunSpec("TracePatterning-v0", "ccn", 0, STEPS, {**CCN, "steps_per_stage": 2_000})
    assert population_key(other_shape.to_dict()) != population_key(specs[0].to_dict())
    with pytest.raises(ValueError, match="share env, learner"):
        run_population([specs[0].to_dict(), other_shape.to_dict()])


def test_a_sweep_through_populations_stores_the_single_run_records(tmp_path):
    specs = _specs()
    single, population = ResultStore(tmp_path / "single"), ResultStore(tmp_path / "population")
    with DaskEngine(workers=1, processes=False, population_size=1) as engine:
        report_single = engine.run(specs, single, progress=False)
    with DaskEngine(workers=1, processes=False, population_size=16, population_minimum=2) as engine:
        report_population = engine.run(specs, population, progress=False)
    diverging = specs[-1].run_id
    assert set(report_single.failed) == set(report_population.failed) == {diverging}
    assert report_single.failed[diverging] == report_population.failed[diverging]
    assert sorted(report_population.completed) == sorted(s.run_id for s in specs[:-1])
    for spec in specs[:-1]:
        a, b = single.get(spec.run_id)["result"], population.get(spec.run_id)["result"]
        assert a["final_msre"] == b["final_msre"] and a["curve"] == b["curve"], spec.describe()
        assert a["hyperparameters"] == b["hyperparameters"] and a["curve_steps"] == b["curve_steps"]
        assert b.get("population_size", 1) == (1 if spec.learner == "tbptt" else 9 if spec.learner == "ccn" else 2)
    # resuming skips everything stored
    with DaskEngine(workers=1, processes=False, population_size=16, population_minimum=2) as engine:
        again = engine.run(specs, population, progress=False)
    assert not again.completed and len(again.skipped) == len(specs) - 1


@pytest.mark.parametrize("env_id, learner, shape", [("TracePatterning-v0", "columnar", {"n_features": 2}),
                                                   ("TracePatterning-v0", "elstm", {"n_units": 3})])
def test_population_records_equal_rtrlbench_run(env_id, learner, shape):
    spec = RunSpec(env_id, learner, 2, 3_000, {**shape, "alpha": 1e-2})
    other = RunSpec(env_id, learner, 5, 3_000, {**shape, "alpha": 1e-3, "lam": 0.5})
    assert population_key(spec.to_dict()) == population_key(other.to_dict()) is not None
    fields = [{k: v for k, v in s.to_dict().items() if k != "kind"} for s in (spec, other)]
    records = run_population(fields)
    for record, field in zip(records, fields):
        alone = run(progress=False, **field)
        for key in ("final_msre", "curve", "return_truncation", "hyperparameters", "final_window", "curve_window"):
            assert record[key] == alone[key], key
