"""The Williams-Zipser reproductions as a sweep (run kind "wz-criterion") on an in-process Dask cluster.

Two fast tasks (pipelined XOR, delay 2; 0101 oscillation with teacher forcing) at small
budgets: the stored records equal direct :func:`train_to_criterion` calls, the step size is
selected by success rate / steps / final MSE from the stored tuning runs, a rerun computes
nothing, a bad configuration fails alone, and the table and figure data match the records.
"""
import hashlib
import json
from dataclasses import replace

import numpy as np
import pytest

import rtrlbench
from rtrlbench.benchmarks.reproductions import wz_reproduction as wz
from rtrlbench.sweep.sweep_registry import get_experiment
from rtrlbench.sweep.experiment_definition import Experiment, Method
from rtrlbench.benchmarks.experiments.wz_experiments import analyse, task_method
from rtrlbench.sweep.tune_and_rerun import collect, sweep
from rtrlbench.sweep.dask_engine import DaskEngine
from rtrlbench.sweep.run_spec import RunSpec, unavailable_reason
from rtrlbench.sweep.result_store import ResultStore

pytest.importorskip("distributed")

TASKS = [replace(wz.TASKS["xor2"], max_steps=6000), replace(wz.TASKS["osc01-tf"], max_steps=3000)]
ALPHAS = {"xor2": [0.3, 3.0], "osc01-tf": [1.0, 10.0]}
#: Fields of train_to_criterion's record, which must not depend on where the run ran.
RESULT_FIELDS = ("success", "steps_to_criterion", "steps_trained", "final_mse", "final_accuracy", "curve",
                 "curve_steps")


def _bad_method(name, **changes):
    return Method(name, "rtrl", fixed={**wz.task_hyperparameters(TASKS[0]), **changes}, kind="wz-criterion",
                  envs=(TASKS[0].env_id,), env_kwargs=TASKS[0].env_kwargs, steps=TASKS[0].max_steps)


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    """(experiment, budget, store, reports of the first sweep, reports of the rerun, run-file mtimes in between)."""
    exp = Experiment("wz-tiny", "Tiny W-Z", [*(task_method(t, ALPHAS[t.name]) for t in TASKS),
                                             _bad_method("zero units", n_units=0), _bad_method("typo", nunits=3)],
                     envs=["PipelinedXOR-v0"], steps=6000, seeds=3, tune_seeds=2, analyse=analyse)
    budget = exp.budget()
    store = ResultStore(tmp_path_factory.mktemp("store"))
    with DaskEngine(workers=1, processes=False) as engine:
        first = sweep(exp, budget, store, engine, progress=False)
        mtimes = {p: p.stat().st_mtime_ns for p in store.runs_dir.iterdir()}
        again = sweep(exp, budget, store, engine, progress=False)
    return exp, budget, store, first, again, mtimes


def _task(name):
    return next(t for t in TASKS if t.name == name)


def test_records_equal_direct_training_runs(swept):
    exp, budget, store, *_ = swept
    records = list(store.records())
    assert len(records) == 2 * (2 * 2) + 2 * 1  # per task: 2 alphas x 2 tuning seeds + the winner's 3rd seed
    for record in records:
        spec, result = record["spec"], record["result"]
        assert spec["kind"] == "wz-criterion" and result["package_version"] == rtrlbench.__version__
        task = _task(spec["hyperparameters"]["task"])
        direct = wz.train_to_criterion(task, spec["seed"], spec["hyperparameters"]["alpha"])
        assert {k: result[k] for k in RESULT_FIELDS} == direct, RunSpec.from_dict(spec).describe()
        assert spec["steps"] == task.max_steps and spec["env_kwargs"] == task.env_kwargs
        assert len(result["curve"]) == result["steps_trained"] // task.check_every
        assert result["success"] == (result["steps_to_criterion"] is not None)


def test_selection_by_success_rate_then_steps_then_final_error(swept):
    exp, budget, store, *_ = swept
    results = collect(exp, budget, store)
    outcome = {}
    for record in store.records():
        hp, result = record["spec"]["hyperparameters"], record["result"]
        if record["spec"]["seed"] < budget.tune_seeds:
            outcome.setdefault(hp["task"], {}).setdefault(hp["alpha"], []).append(result)
    for task, by_alpha in outcome.items():
        def key(alpha):
            runs = by_alpha[alpha]
            steps = [r["steps_to_criterion"] for r in runs if r["success"]]
            return (-np.mean([r["success"] for r in runs]), np.median(steps) if steps else np.inf,
                    np.median([r["final_mse"] for r in runs]))

        keys = {alpha: key(alpha) for alpha in ALPHAS[task]}
        assert len(set(keys.values())) == 2  # the two step sizes are told apart
        selection = results.selections[task]
        assert selection.winner["alpha"] == min(keys, key=keys.get)
        assert selection.scores == [1 + keys[alpha][0] for alpha in ALPHAS[task]]  # failure rates
        assert sorted(r["spec"]["seed"] for r in results.records[task]) == [0, 1, 2]
    # xor2 at alpha 0.3 does not learn in 6,000 steps; 3.0 does: told apart by success, not by a tie-break
    assert results.selections["xor2"].winner == {**wz.task_hyperparameters(TASKS[0]), "alpha": 3.0}
    selection_file = json.loads(next((store.root / "selections").glob("wz-tiny__*.json")).read_text())
    assert [m["winner"]["alpha"] for m in selection_file["methods"][:2]] == [
        results.selections[t.name].winner["alpha"] for t in TASKS]


def test_rerun_computes_nothing(swept):
    exp, budget, store, first, again, mtimes = swept
    assert [len(r.completed) for r in first] == [8, 2]
    assert all(r.completed == [] for r in again)
    assert len(again[0].skipped) == 8 and len(again[1].skipped) == 3 * 2  # final runs of the two tasks
    assert {p: p.stat().st_mtime_ns for p in store.runs_dir.iterdir()} == mtimes


def test_bad_configuration_fails_alone_with_a_clear_message(swept):
    exp, budget, store, first, *_ = swept
    final = first[1]
    assert len(final.failed) == 2 * 3 and len(final.messages) == 2  # 3 seeds of each bad method
    assert final.messages == {
        "ValueError: task 'xor2': n_units must be a positive integer, got 0",
        "ValueError: Williams-Zipser criterion run: unknown hyperparameter(s) ['nunits']; known: task, "
        + ", ".join(wz.SPEC_FIELDS),
    }
    failures = list(store.failures())
    assert len(failures) == 6 and all("Traceback" in f["traceback"] for f in failures)
    assert not (set(final.failed) & {r["run_id"] for r in store.records()})


def test_table_and_figure_data_match_the_records(swept, tmp_path):
    exp, budget, store, *_ = swept
    results = collect(exp, budget, store)
    paths = analyse(results, tmp_path)
    assert sorted(p.name for p in paths) == sorted(
        ["wz-tiny_table.md", *(f"wz-tiny_{f}.{ext}" for f in ("summary", "probe_curves") for ext in ("png", "svg"))])
    for path in paths:
        head = path.read_bytes()[:200]
        assert path.suffix == ".md" or (path.stat().st_size > 2000 and (head.startswith(b"\x89PNG") or b"<svg" in head
                                                                       or b"<?xml" in head))

    final = {t.name: sorted((r["result"] for r in results.records[t.name]), key=lambda r: r["seed"]) for t in TASKS}
    summary = json.loads((tmp_path / "wz-tiny_summary.json").read_text())
    assert summary["tasks"] == ["xor2", "osc01-tf"]
    for i, task in enumerate(summary["tasks"]):
        runs = final[task]
        steps = [r["steps_to_criterion"] for r in runs if r["success"]]
        assert summary["success_rate"][i] == sum(r["success"] for r in runs) / 3 and summary["n"][i] == 3
        assert summary["median_steps"][i] == (np.median(steps) if steps else None)
        assert summary["steps_range"][i] == ([min(steps), max(steps)] if steps else None)
        assert summary["alpha"][i] == results.selections[task].winner["alpha"]
    curves = json.loads((tmp_path / "wz-tiny_probe_curves.json").read_text())["tasks"]
    for task, runs in final.items():
        assert curves[task] == {"seeds": [0, 1, 2], "steps": [r["curve_steps"] for r in runs],
                                "probe_mse": [r["curve"] for r in runs]}

    table = (tmp_path / "wz-tiny_table.md").read_text()
    rows = [wz.summarise(task, [0, 1, 2], final[task.name], results.selections[task.name].winner["alpha"])
            for task in TASKS]
    assert wz.markdown_table(rows) in table
    success = round(100 * summary["success_rate"][0])
    assert f"| xor2 | PipelinedXOR-v0 (delay=2) | 3 | no | 3 | {success}% of 3 |" in table


def test_results_export_has_the_criterion_columns(swept):
    exp, budget, store, *_ = swept
    frame = store.frame()
    assert len(frame) == 10 and set(frame["kind"]) == {"wz-criterion"}
    records = {r["run_id"]: r["result"] for r in store.records()}
    for row in frame.to_dict("records"):
        result = records[row["run_id"]]
        assert row["final_mse"] == result["final_mse"] and row["success"] == result["success"]
        assert row["steps"] == _task(row["hp.task"]).max_steps
    curves = store.frame(curves=True)
    assert len(curves) == sum(len(r["curve"]) for r in records.values())
    assert curves["probe_mse"].tolist() == [v for _, r in sorted(records.items()) for v in r["curve"]]


def test_kind_is_part_of_the_run_id_and_prediction_ids_are_unchanged():
    base = RunSpec(env_id="PipelinedXOR-v0", learner="rtrl", seed=0, steps=1000)
    legacy = {k: v for k, v in base.to_dict().items() if k != "kind"}  # a spec stored before run kinds existed
    text = json.dumps({**legacy, "package_version": rtrlbench.__version__}, sort_keys=True, separators=(",", ":"))
    assert base.run_id == hashlib.sha256(text.encode()).hexdigest()[:16]
    assert RunSpec.from_dict(legacy) == base
    assert replace(base, kind="wz-criterion").run_id != base.run_id
    assert "run kind 'nope' is not known" in unavailable_reason(replace(base, kind="nope"))


def test_registered_experiment_covers_every_task_and_scales_max_steps():
    exp = get_experiment("williams-zipser")
    assert [m.label for m in exp.methods] == list(wz.TASKS)
    budget = exp.budget(steps=exp.steps // 10, seeds=3)
    final = exp.final_runs(budget, {m.label: {**m.fixed, "alpha": 1.0} for m in exp.methods})
    for task in wz.TASKS.values():
        spec = final[task.name][0]
        assert wz.task_from_spec(spec) == replace(task, alpha=1.0, max_steps=round(task.max_steps / 10))
    assert len(exp.tuning_runs(budget)) == len(wz.TASKS) * 5 * 3
    assert get_experiment("wz-pipelined-xor").name == "wz-pipelined-xor"
